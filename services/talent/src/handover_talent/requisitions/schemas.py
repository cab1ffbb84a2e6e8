from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from handover_shared.pagination import Page
from handover_shared.text import Text

ExternalJobId = Annotated[Text, Field(min_length=1, max_length=200)]


class RequisitionStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    ON_HOLD = "on_hold"
    FILLED = "filled"
    CANCELLED = "cancelled"


class RequisitionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "title": "Senior claims analyst",
                    "headcount": 2,
                }
            ]
        },
    )

    engagement_id: UUID = Field(description="The engagement whose team the role is for.")
    title: Text | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        examples=["Senior claims analyst"],
        description="Defaults to the role's title; required without `role_id`.",
    )
    headcount: int = Field(ge=1, le=1000, description="How many people to hire for this role.")
    role_id: UUID | None = Field(
        default=None,
        description="The role definition, of the same engagement. A requisition opens only for "
        "a role with responsibilities and success criteria.",
    )
    target_start: date | None = Field(default=None, description="When the hires should start.")
    external_job_id: ExternalJobId | None = Field(
        default=None,
        description="The job's id in the engagement's HRIS/ATS: its events are matched to this "
        "requisition by it. Unique per engagement.",
    )

    @model_validator(mode="after")
    def _titled(self) -> Self:
        if self.title is None and self.role_id is None:
            raise ValueError("title is required without role_id")
        return self


class RequisitionUpdate(BaseModel):
    """Fields left out keep their value."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"headcount": 3, "external_job_id": "4012876"}]},
    )

    title: Annotated[Text, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    headcount: Annotated[int, Field(ge=1, le=1000)] | SkipJsonSchema[None] = None
    role_id: UUID | None = None
    target_start: date | None = None
    external_job_id: ExternalJobId | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        for name in ("title", "headcount"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class RequisitionTransition(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "open"}]})

    status: RequisitionStatus = Field(
        description="The status to move to. `filled` follows the hires and cannot be asked for."
    )


class RequisitionRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01936f10-4c1e-7a93-b2d8-9e7f1a6c5b30",
                    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "title": "Senior claims analyst",
                    "headcount": 2,
                    "status": "open",
                    "role_id": "01936f10-1a2b-7c3d-8e4f-5a6b7c8d9e01",
                    "target_start": "2025-03-03",
                    "external_job_id": "4012876",
                    "hired": 1,
                    "opened_at": "2025-01-17T08:00:00Z",
                    "filled_at": None,
                    "version": 2,
                    "created_at": "2025-01-16T08:00:00Z",
                    "updated_at": "2025-01-16T08:00:00Z",
                }
            ]
        },
    )

    id: UUID
    engagement_id: UUID
    title: str
    headcount: int
    status: RequisitionStatus
    role_id: UUID | None = None
    target_start: date | None = None
    external_job_id: str | None = None
    hired: int = Field(default=0, description="Hires that stand against the head count.")
    opened_at: datetime | None = Field(
        default=None, description="When it first opened: time to hire runs from here."
    )
    filled_at: datetime | None = None
    version: int = Field(
        default=1, description="Also the `ETag`; send it as `If-Match` to change the requisition."
    )
    created_at: datetime
    updated_at: datetime


class RequisitionPage(Page[RequisitionRead]):
    """A page of requisitions."""
