from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    UrlConstraints,
)
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from handover_engagements.schemas import PartialUpdate
from handover_shared.engagements import Owner, Phase
from handover_shared.pagination import Page
from handover_shared.text import Text


class MilestoneStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


SETTLED = frozenset({MilestoneStatus.DONE, MilestoneStatus.CANCELLED})
"""Statuses that no longer hold a gate back: done, or no longer wanted."""

_MILESTONE: JsonDict = {
    "id": "01936f1c-4e5f-7a61-9b72-8c9d0e1f2a34",
    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
    "title": "First 12 claims specialists onboarded",
    "phase": "build",
    "owner": "partner",
    "due_date": "2025-03-31",
    "status": "done",
    "evidence_note": "Onboarding checklist signed by the client's operations lead.",
    "evidence_url": "https://docs.example.com/acme/onboarding-signoff.pdf",
    "completed_at": "2025-03-28T16:00:00Z",
    "version": 3,
    "created_at": "2025-01-15T09:45:00Z",
    "updated_at": "2025-03-28T16:00:00Z",
}

_Title = Annotated[
    Text,
    Field(
        min_length=1,
        max_length=200,
        description="What must be achieved.",
        examples=["First 12 claims specialists onboarded"],
    ),
]
_Owner = Annotated[
    Owner, Field(description="Who is responsible for it: the client or the partner.")
]
_PhaseField = Annotated[Phase, Field(description="The phase the milestone belongs to.")]
_DueDate = Annotated[
    date | None, Field(description="When it is due; null for no date.", examples=["2025-03-31"])
]
_Status = Annotated[
    MilestoneStatus,
    Field(
        description="`done` needs completion evidence (`evidence_note` or `evidence_url`). "
        "`done` and `cancelled` milestones do not hold back the phase's gate."
    ),
]
_EvidenceNote = Annotated[
    Text | None,
    Field(
        max_length=2000,
        description="What shows the milestone is done.",
        examples=["Onboarding checklist signed by the client's operations lead."],
    ),
]
_EvidenceUrl = Annotated[
    Annotated[AnyHttpUrl, UrlConstraints(max_length=2048)] | None,
    Field(
        description="Where the evidence is kept (http or https).",
        examples=["https://docs.example.com/acme/onboarding-signoff.pdf"],
    ),
]
_CompletedAt = Annotated[
    AwareDatetime | None,
    Field(
        description="When it was done, with a time zone; defaults to the moment it is marked "
        "`done`. Only for a `done` milestone; not in the future.",
        examples=["2025-03-28T16:00:00Z"],
    ),
]


class MilestoneCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "First 12 claims specialists onboarded",
                    "phase": "build",
                    "owner": "partner",
                    "due_date": "2025-03-31",
                }
            ]
        },
    )

    title: _Title
    phase: _PhaseField
    owner: _Owner
    due_date: _DueDate = None
    status: _Status = MilestoneStatus.PLANNED
    evidence_note: _EvidenceNote = None
    evidence_url: _EvidenceUrl = None
    completed_at: _CompletedAt = None


class MilestoneUpdate(PartialUpdate):
    """Only the fields sent change; `null` clears an optional one. Marking a milestone `done`
    needs evidence, sent now or already on it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "status": "done",
                    "evidence_note": "Onboarding checklist signed by the client's operations lead.",
                }
            ]
        },
    )
    required_fields = ("title", "phase", "owner", "status")

    title: _Title | SkipJsonSchema[None] = None
    phase: _PhaseField | SkipJsonSchema[None] = None
    owner: _Owner | SkipJsonSchema[None] = None
    due_date: _DueDate = None
    status: _Status | SkipJsonSchema[None] = None
    evidence_note: _EvidenceNote = None
    evidence_url: _EvidenceUrl = None
    completed_at: _CompletedAt = None


class MilestoneRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_MILESTONE]})

    id: UUID
    engagement_id: UUID
    title: str = Field(description="What must be achieved.")
    phase: Phase = Field(description="The phase the milestone belongs to.")
    owner: Owner = Field(description="Who is responsible for it.")
    due_date: date | None = Field(description="When it is due.")
    status: MilestoneStatus
    evidence_note: str | None = Field(description="What shows it is done.")
    evidence_url: str | None = Field(description="Where the evidence is kept.")
    completed_at: datetime | None = Field(description="When it was done; null unless `done`.")
    version: int = Field(ge=1, description="Grows by one with every change; the `ETag`.")
    created_at: datetime
    updated_at: datetime


class MilestonePage(Page[MilestoneRead]):
    """A page of an engagement's milestones, oldest first."""
