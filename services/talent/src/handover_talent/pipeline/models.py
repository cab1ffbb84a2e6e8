from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from handover_kit.db import id_field, text_enum, timestamp_field
from handover_shared.hiring_events import ApplicationStage
from handover_talent.db import Table


def _moment(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=nullable)


class Candidate(Table, table=True):
    """The person, as little of them as hiring needs: `name` and `email` are blanked on
    erasure, and nothing else about them is kept."""

    __tablename__ = "candidates"
    # A candidate pushed by a source is that source's candidate id; one row per pair.
    __table_args__ = (UniqueConstraint("source_id", "external_id"),)

    id: UUID = id_field()
    engagement_id: UUID = Field(index=True)
    client_id: UUID
    partner_id: UUID
    source_id: UUID | None = None
    external_id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    erased_at: datetime | None = _moment()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)


class Application(Table, table=True):
    """A candidate for one requisition. Every field past the keys is derived from the
    application's history (`PipelineEvent`), never set directly."""

    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("source_id", "external_id"),)

    id: UUID = id_field()
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    candidate_id: UUID = Field(foreign_key="talent.candidates.id", index=True)
    requisition_id: UUID = Field(foreign_key="talent.requisitions.id", index=True)
    source_id: UUID | None = None
    external_id: str | None = Field(default=None, max_length=200)
    stage: ApplicationStage = Field(sa_type=text_enum(ApplicationStage))
    stage_entered_at: datetime = Field(sa_type=DateTime(timezone=True))
    offer_made_at: datetime | None = _moment()
    offer_decided_at: datetime | None = _moment()
    offer_accepted: bool | None = None
    hired_at: datetime | None = _moment()
    start_date: date | None = None
    # Whether kpi was told: each fact is told once, when it first becomes true.
    offer_made_told: bool = False
    offer_decided_told: bool = False
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)


class PipelineEvent(Table, table=True):
    """One thing that happened to a candidate, from the API or a source: the history the
    state is derived from. `event_key` makes recording it twice a no-op."""

    __tablename__ = "pipeline_events"
    __table_args__ = (UniqueConstraint("candidate_id", "event_key"),)

    id: UUID = id_field()
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    candidate_id: UUID = Field(foreign_key="talent.candidates.id")
    application_id: UUID | None = Field(
        default=None, foreign_key="talent.applications.id", index=True
    )
    kind: str = Field(max_length=64)
    stage: ApplicationStage | None = Field(default=None, sa_type=text_enum(ApplicationStage))
    occurred_at: datetime = Field(sa_type=DateTime(timezone=True))
    actor: str = Field(max_length=200)
    source_id: UUID | None = None
    event_key: str = Field(max_length=300)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    recorded_at: datetime = timestamp_field()
