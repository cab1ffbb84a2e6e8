from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from handover_shared.hiring_events import ApplicationStage
from handover_shared.pagination import Page
from handover_shared.text import Text

_CANDIDATE_ID = "01936f18-1111-7a22-8b33-4c44d5e6f701"
_APPLICATION_ID = "01936f19-2222-7b33-8c44-5d55e6f7a812"
_ENGAGEMENT_ID = "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10"
_REQUISITION_ID = "01936f10-4c1e-7a93-b2d8-9e7f1a6c5b30"
_MOVED_AT = "2025-01-28T14:00:00Z"


class CandidateCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "engagement_id": _ENGAGEMENT_ID,
                    "name": "Maria Santos",
                    "email": "maria.santos@example.com",
                }
            ]
        },
    )

    engagement_id: UUID = Field(description="The engagement the candidate is considered for.")
    name: Text = Field(min_length=1, max_length=200)
    email: Text | None = Field(default=None, max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")


class CandidateRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": _CANDIDATE_ID,
                    "engagement_id": _ENGAGEMENT_ID,
                    "source_id": None,
                    "external_id": None,
                    "name": "Maria Santos",
                    "email": "maria.santos@example.com",
                    "erased_at": None,
                    "created_at": "2025-01-20T08:00:00Z",
                    "updated_at": "2025-01-20T08:00:00Z",
                }
            ]
        },
    )

    id: UUID
    engagement_id: UUID
    source_id: UUID | None = Field(description="The HRIS/ATS source that sent them, if any.")
    external_id: str | None = Field(description="Their id in that source.")
    name: str | None = Field(description="Null once erased.")
    email: str | None = Field(description="Null once erased.")
    erased_at: datetime | None = Field(description="When their personal data was erased.")
    created_at: datetime
    updated_at: datetime


class CandidatePage(Page[CandidateRead]):
    """A page of candidates."""


class ApplicationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "candidate_id": _CANDIDATE_ID,
                    "requisition_id": _REQUISITION_ID,
                    "stage": "screening",
                    "occurred_at": "2025-01-21T09:00:00Z",
                }
            ]
        },
    )

    candidate_id: UUID
    requisition_id: UUID = Field(description="Of the candidate's engagement.")
    stage: ApplicationStage = Field(
        default=ApplicationStage.SOURCED, description="The stage it enters the pipeline in."
    )
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When it happened; now when left out."
    )


class _StageChange(BaseModel):
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When it happened; now when left out."
    )


class MoveToStage(_StageChange):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"stage": "interview", "occurred_at": _MOVED_AT}]},
    )

    stage: Literal["sourced", "screening", "interview", "withdrawn"]


class MoveToOffer(_StageChange):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"stage": "offer", "offer_accepted": True}]},
    )

    stage: Literal["offer"]
    offer_accepted: bool | None = Field(
        default=None,
        description="The candidate's decision, once they made one; left out when the offer is "
        "made.",
    )
    start_date: date | None = Field(default=None, description="The start date offered.")


class MoveToHired(_StageChange):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"stage": "hired", "start_date": "2025-03-03"}]},
    )

    stage: Literal["hired"]
    start_date: date = Field(description="The new team member's first day.")


class MoveToRejected(_StageChange):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"stage": "rejected", "reason": "Needs more experience"}]},
    )

    stage: Literal["rejected"]
    reason: Text | None = Field(default=None, max_length=500)


StageChange = MoveToStage | MoveToOffer | MoveToHired | MoveToRejected
"""What a stage change says depends on the stage: an offer its decision, a hire its start date,
a rejection its reason."""


class StagePeriodRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "stage": "screening",
                    "entered_at": "2025-01-21T09:00:00Z",
                    "left_at": "2025-01-28T14:00:00Z",
                    "seconds": 623_100,
                }
            ]
        }
    )

    stage: ApplicationStage
    entered_at: datetime
    left_at: datetime | None = Field(description="Null for the stage it is in now.")
    seconds: int | None = Field(description="Time in the stage; null while in it.")


class HistoryEntryRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "application.stage_changed",
                    "stage": "interview",
                    "occurred_at": "2025-01-28T14:00:00Z",
                    "actor": "person:recruiter@example.com",
                    "source": "api",
                    "recorded_at": "2025-01-28T14:00:01Z",
                }
            ]
        }
    )

    kind: str
    stage: ApplicationStage | None
    occurred_at: datetime
    actor: str = Field(description="Who did it: a person, an API key, or an HRIS source.")
    source: str = Field(description="`api`, or `hris:<source id>`.")
    recorded_at: datetime


_APPLICATION_EXAMPLE: dict[str, JsonValue] = {
    "id": _APPLICATION_ID,
    "engagement_id": _ENGAGEMENT_ID,
    "candidate_id": _CANDIDATE_ID,
    "requisition_id": _REQUISITION_ID,
    "source_id": None,
    "external_id": None,
    "stage": "interview",
    "stage_entered_at": "2025-01-28T14:00:00Z",
    "offer_made_at": None,
    "offer_decided_at": None,
    "offer_accepted": None,
    "hired_at": None,
    "start_date": None,
    "time_to_hire_seconds": None,
    "created_at": "2025-01-21T09:00:00Z",
    "updated_at": "2025-01-28T14:00:00Z",
}


class ApplicationRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [_APPLICATION_EXAMPLE]}
    )

    id: UUID
    engagement_id: UUID
    candidate_id: UUID
    requisition_id: UUID
    source_id: UUID | None
    external_id: str | None
    stage: ApplicationStage
    stage_entered_at: datetime
    offer_made_at: datetime | None
    offer_decided_at: datetime | None
    offer_accepted: bool | None
    hired_at: datetime | None
    start_date: date | None
    time_to_hire_seconds: int | None = Field(
        default=None, description="From the requisition's opening to the hire, when both are."
    )
    created_at: datetime
    updated_at: datetime


class ApplicationDetail(ApplicationRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_APPLICATION_EXAMPLE,
                    "periods": [
                        {
                            "stage": "screening",
                            "entered_at": "2025-01-21T09:00:00Z",
                            "left_at": "2025-01-28T14:00:00Z",
                            "seconds": 623_100,
                        },
                        {
                            "stage": "interview",
                            "entered_at": "2025-01-28T14:00:00Z",
                            "left_at": None,
                            "seconds": None,
                        },
                    ],
                    "history": [
                        {
                            "kind": "application.created",
                            "stage": "screening",
                            "occurred_at": "2025-01-21T09:00:00Z",
                            "actor": "person:recruiter@example.com",
                            "source": "api",
                            "recorded_at": "2025-01-21T09:00:01Z",
                        }
                    ],
                }
            ]
        }
    )

    periods: list[StagePeriodRead] = Field(description="Time in each stage, in order.")
    history: list[HistoryEntryRead] = Field(description="Everything that happened, by time.")


class ApplicationPage(Page[ApplicationRead]):
    """A page of applications."""
