from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, Column, Computed, Index, SmallInteger
from sqlmodel import Field

from handover_engagements.db import Table
from handover_engagements.risks.schemas import RiskStatus
from handover_kit.db import id_field, text_enum, timestamp_field
from handover_shared.engagements import Owner


class Risk(Table, table=True):
    """Something that may go wrong in an engagement, how likely and how bad, and what is done
    about it."""

    __tablename__ = "risks"
    __table_args__ = (
        Index("ix_engagements_risks_engagement_id_severity", "engagement_id", "severity", "id"),
        CheckConstraint("likelihood BETWEEN 1 AND 5", name="likelihood_range"),
        CheckConstraint("impact BETWEEN 1 AND 5", name="impact_range"),
    )

    id: UUID = id_field()
    engagement_id: UUID = Field(foreign_key="engagements.engagements.id")
    client_id: UUID
    partner_id: UUID
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    likelihood: int = Field(sa_type=SmallInteger)
    impact: int = Field(sa_type=SmallInteger)
    # Derived by PostgreSQL, so a filter or sort on it can never disagree with its factors.
    severity: int | None = Field(
        default=None,
        sa_column=Column(
            SmallInteger, Computed("likelihood * impact", persisted=True), nullable=False
        ),
    )
    mitigation: str | None = Field(default=None, max_length=4000)
    owner: Owner = Field(sa_type=text_enum(Owner))
    status: RiskStatus = Field(default=RiskStatus.OPEN, sa_type=text_enum(RiskStatus))
    version: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)
