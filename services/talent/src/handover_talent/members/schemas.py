from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from handover_shared.pagination import Page
from handover_shared.text import Text


class MemberStatus(StrEnum):
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    TERMINATED = "terminated"
    REVERSED = "reversed"


EMPLOYED = (MemberStatus.ONBOARDING, MemberStatus.ACTIVE)
"""The statuses the head count counts."""


class TeamMemberRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01936f20-5d6e-7f80-9a1b-2c3d4e5f6a70",
                    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "candidate_id": "01936f18-1111-7a22-8b33-4c44d5e6f701",
                    "application_id": "01936f19-2222-7b33-8c44-5d55e6f7a812",
                    "requisition_id": "01936f10-4c1e-7a93-b2d8-9e7f1a6c5b30",
                    "role_id": "01936f10-1a2b-7c3d-8e4f-5a6b7c8d9e01",
                    "title": "Senior claims analyst",
                    "status": "active",
                    "start_date": "2025-03-03",
                    "hired_at": "2025-02-10T09:00:00Z",
                    "employer_entity_id": "01936f0e-9c02-7e55-b1d3-6f7a8b9c0d12",
                    "onboarded_on": "2025-03-21",
                    "terminated_on": None,
                    "termination_reason": None,
                    "voluntary": None,
                    "version": 2,
                    "created_at": "2025-02-10T09:00:05Z",
                    "updated_at": "2025-03-21T16:00:00Z",
                }
            ]
        },
    )

    id: UUID
    engagement_id: UUID
    candidate_id: UUID | None
    application_id: UUID | None
    requisition_id: UUID | None
    role_id: UUID | None
    title: str
    status: MemberStatus = Field(
        description="`onboarding` from the hire, `active` once onboarding completed, "
        "`terminated` after leaving; `reversed` when the source took the hire back."
    )
    start_date: date
    hired_at: datetime
    employer_entity_id: UUID | None = Field(
        description="The legal entity employing the member. Null when the engagement named no "
        "partner entity at hire: set it in the engagements service, then transfer."
    )
    onboarded_on: date | None
    terminated_on: date | None
    termination_reason: str | None
    voluntary: bool | None
    version: int
    created_at: datetime
    updated_at: datetime


class TeamMemberPage(Page[TeamMemberRead]):
    """A page of team members."""


class OnboardingCompletion(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"completed_on": "2025-03-21"}]}
    )

    completed_on: date = Field(description="The day onboarding was completed.")


class Termination(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"terminated_on": "2025-09-30", "voluntary": True, "reason": "Relocation"}]
        },
    )

    terminated_on: date = Field(description="The last day of employment.")
    voluntary: bool = Field(description="Whether the member chose to leave.")
    reason: Text | None = Field(default=None, max_length=500)


class EmploymentTransferCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "team_member_ids": ["01936f20-5d6e-7f80-9a1b-2c3d4e5f6a70"],
                    "effective_date": "2026-01-01",
                }
            ]
        },
    )

    engagement_id: UUID = Field(description="The engagement whose team moves.")
    team_member_ids: list[UUID] = Field(
        min_length=1, max_length=1000, description="The members whose contracts move."
    )
    effective_date: date = Field(description="The first day of employment by the client.")


class EmploymentTransitionRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01936f30-aaaa-7bbb-8ccc-dddddddddd01",
                    "team_member_id": "01936f20-5d6e-7f80-9a1b-2c3d4e5f6a70",
                    "from_entity_id": "01936f0e-9c02-7e55-b1d3-6f7a8b9c0d12",
                    "to_entity_id": "01936f0e-8b4d-7a11-8e2f-4c6d8e0f1a23",
                    "effective_date": "2026-01-01",
                }
            ]
        },
    )

    id: UUID
    team_member_id: UUID
    from_entity_id: UUID | None
    to_entity_id: UUID
    effective_date: date


class EmploymentTransferRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "01936f30-0000-7111-8222-333333333301",
                    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "to_entity_id": "01936f0e-8b4d-7a11-8e2f-4c6d8e0f1a23",
                    "effective_date": "2026-01-01",
                    "transitions": [
                        {
                            "id": "01936f30-aaaa-7bbb-8ccc-dddddddddd01",
                            "team_member_id": "01936f20-5d6e-7f80-9a1b-2c3d4e5f6a70",
                            "from_entity_id": "01936f0e-9c02-7e55-b1d3-6f7a8b9c0d12",
                            "to_entity_id": "01936f0e-8b4d-7a11-8e2f-4c6d8e0f1a23",
                            "effective_date": "2026-01-01",
                        }
                    ],
                    "created_at": "2025-12-01T10:00:00Z",
                }
            ]
        },
    )

    id: UUID
    engagement_id: UUID
    to_entity_id: UUID = Field(description="The client's entity the contracts moved to.")
    effective_date: date
    transitions: list[EmploymentTransitionRead] = Field(
        description="One per member whose contract moved; members the client's entity "
        "employed already have none."
    )
    created_at: datetime
