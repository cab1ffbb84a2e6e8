from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from handover_shared.pagination import Page
from handover_shared.text import Text


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
    title: Text = Field(min_length=1, max_length=200, examples=["Senior claims analyst"])
    headcount: int = Field(ge=1, le=1000, description="How many people to hire for this role.")


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
                    "status": "draft",
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
    created_at: datetime
    updated_at: datetime


class RequisitionPage(Page[RequisitionRead]):
    """A page of requisitions."""
