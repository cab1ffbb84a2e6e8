from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, Double
from sqlmodel import Field

from handover_kit.db import id_field, text_enum, timestamp_field
from handover_kpi.db import Table
from handover_kpi.targets.schemas import TargetSource
from handover_shared.kpi import METRIC_KEY_MAX_LENGTH, Comparator


class Target(Table, table=True):
    """`value <comparator> threshold` is met; missing it by no more than `at_risk_margin` is
    at risk. A target applies from `effective_from` until `effective_to` (open if null)."""

    __tablename__ = "targets"

    id: UUID = id_field()
    engagement_id: UUID = Field(index=True)
    client_id: UUID
    partner_id: UUID
    metric_key: str = Field(max_length=METRIC_KEY_MAX_LENGTH)
    comparator: Comparator = Field(sa_type=text_enum(Comparator))
    threshold: float = Field(sa_type=Double())
    at_risk_margin: float = Field(default=0.0, sa_type=Double())
    effective_from: datetime = Field(sa_type=DateTime(timezone=True))
    effective_to: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    source: TargetSource = Field(sa_type=text_enum(TargetSource))
    # The engagements service's id of the SLA this target stands for; one target per SLA.
    sla_id: UUID | None = Field(default=None, unique=True)
    window_days: int | None = None
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)
