from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from handover_shared.pagination import Page


class RequisitionStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    ON_HOLD = "on_hold"
    FILLED = "filled"
    CANCELLED = "cancelled"


class RequisitionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engagement_id: UUID = Field(description="The engagement whose team the role is for.")
    title: str = Field(min_length=1, max_length=200, examples=["Senior claims analyst"])
    headcount: int = Field(ge=1, le=1000, description="How many people to hire for this role.")


class RequisitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    engagement_id: UUID
    title: str
    headcount: int
    status: RequisitionStatus
    created_at: datetime
    updated_at: datetime


class RequisitionPage(Page[RequisitionRead]):
    """A page of requisitions."""
