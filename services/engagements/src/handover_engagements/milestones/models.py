from datetime import date, datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, DateTime, Index
from sqlmodel import Field

from handover_engagements.db import Table
from handover_engagements.milestones.schemas import MilestoneStatus
from handover_kit.db import id_field, text_enum, timestamp_field
from handover_shared.engagements import Owner, Phase


class Milestone(Table, table=True):
    """Something that must happen in a phase of an engagement, and the proof that it did."""

    __tablename__ = "milestones"
    __table_args__ = (
        Index("ix_engagements_milestones_engagement_id", "engagement_id", "id"),
        CheckConstraint(
            "status <> 'done' OR ((evidence_note IS NOT NULL OR evidence_url IS NOT NULL)"
            " AND completed_at IS NOT NULL)",
            name="done_has_evidence",
        ),
    )

    id: UUID = id_field()
    engagement_id: UUID = Field(foreign_key="engagements.engagements.id")
    client_id: UUID
    partner_id: UUID
    title: str = Field(max_length=200)
    phase: Phase = Field(sa_type=text_enum(Phase))
    owner: Owner = Field(sa_type=text_enum(Owner))
    due_date: date | None = None
    status: MilestoneStatus = Field(
        default=MilestoneStatus.PLANNED, sa_type=text_enum(MilestoneStatus)
    )
    evidence_note: str | None = Field(default=None, max_length=2000)
    evidence_url: str | None = Field(default=None, max_length=2048)
    completed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    version: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)
