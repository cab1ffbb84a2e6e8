from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, DateTime, UniqueConstraint
from sqlmodel import Field

from handover_engagements.db import Table
from handover_kit.db import id_field, text_enum, timestamp_field
from handover_shared.kpi import METRIC_KEY_MAX_LENGTH, Comparator


class Sla(Table, table=True):
    """A service level an engagement promises: a metric held to a target over a window.
    The kpi service measures it; this table is where it is defined."""

    __tablename__ = "slas"
    # One SLA per metric of an engagement: kpi keys its targets the same way.
    __table_args__ = (
        UniqueConstraint("engagement_id", "metric_key"),
        CheckConstraint("window_days BETWEEN 1 AND 366", name="window_days_range"),
    )

    id: UUID = id_field()
    engagement_id: UUID = Field(foreign_key="engagements.engagements.id")
    client_id: UUID
    partner_id: UUID
    metric_key: str = Field(max_length=METRIC_KEY_MAX_LENGTH)
    comparator: Comparator = Field(sa_type=text_enum(Comparator))
    target: float
    window_days: int
    effective_from: datetime = Field(sa_type=DateTime(timezone=True))
    version: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)
