from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from handover_engagements.schemas import PartialUpdate
from handover_shared.engagements import Owner
from handover_shared.pagination import Page
from handover_shared.text import Text

_ITEM: JsonDict = {
    "id": "01936f1b-3d4e-7f50-8a61-7b8c9d0e1f23",
    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
    "scope": "employment_contracts",
    "title": "Employment contracts",
    "owner": "client",
    "due_on": "2026-12-15",
    "status": "in_progress",
    "notes": "Offer letters from the client's entity drafted; 12 of 40 signed.",
    "version": 3,
    "created_at": "2025-01-15T09:45:00Z",
    "updated_at": "2026-11-20T14:02:00Z",
}


class TransferScope(StrEnum):
    EMPLOYMENT_CONTRACTS = "employment_contracts"
    FACILITY_LEASES = "facility_leases"
    IT_INFRASTRUCTURE = "it_infrastructure"
    PROCESS_DOCUMENTATION = "process_documentation"
    HR_PAYROLL_SYSTEMS = "hr_payroll_systems"
    VENDOR_CONTRACTS = "vendor_contracts"
    KNOWLEDGE_TRANSFER = "knowledge_transfer"
    OTHER = "other"


STANDARD_SCOPE: dict[TransferScope, tuple[str, str]] = {
    TransferScope.EMPLOYMENT_CONTRACTS: ("Employment contracts", "client"),
    TransferScope.FACILITY_LEASES: ("Office or facility leases", "partner"),
    TransferScope.IT_INFRASTRUCTURE: ("IT infrastructure", "partner"),
    TransferScope.PROCESS_DOCUMENTATION: ("Process documentation", "partner"),
    TransferScope.HR_PAYROLL_SYSTEMS: ("HR and payroll systems", "client"),
    TransferScope.VENDOR_CONTRACTS: ("Third-party vendor contracts", "partner"),
    TransferScope.KNOWLEDGE_TRANSFER: ("Knowledge transfer and training", "partner"),
}
"""What every transfer plan starts with, and who is responsible for each item by default."""


class ItemStatus(StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"


FINISHED = frozenset({ItemStatus.DONE, ItemStatus.NOT_APPLICABLE})


class TransferPlanItemCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "scope": "other",
                    "title": "Client-side badge and door access",
                    "owner": "client",
                    "due_on": "2026-12-01",
                }
            ]
        },
    )

    scope: TransferScope = TransferScope.OTHER
    title: Text = Field(min_length=1, max_length=200, examples=["Client-side badge access"])
    owner: Owner = Field(description="Who is responsible for the item: client or partner.")
    due_on: date | None = None
    status: ItemStatus = ItemStatus.TODO
    notes: Text | None = Field(default=None, max_length=4000)


class TransferPlanItemUpdate(PartialUpdate):
    """Only the fields sent change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "done", "notes": "All 40 contracts signed."}]},
    )
    required_fields = ("title", "owner", "status")

    # Left out, they stay; they cannot be null.
    title: Annotated[Text, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    owner: Owner | SkipJsonSchema[None] = None
    due_on: date | None = None
    status: ItemStatus | SkipJsonSchema[None] = None
    notes: Text | None = Field(default=None, max_length=4000)


class TransferPlanItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_ITEM]})

    id: UUID
    engagement_id: UUID
    scope: TransferScope = Field(description="Which part of a transfer the item is.")
    title: str = Field(description="What is handed over.")
    owner: Owner = Field(description="Who is responsible for the item: client or partner.")
    due_on: date | None = Field(description="When it is due.")
    status: ItemStatus = Field(description="`done` and `not_applicable` count as finished.")
    notes: str | None = Field(description="Free text: progress, blockers, references.")
    version: int = Field(ge=1, description="Grows by one with every change; the `ETag`.")
    created_at: datetime
    updated_at: datetime


class TransferPlanItemPage(Page[TransferPlanItemRead]):
    """A page of a transfer plan's items."""


class TransferPlanRead(BaseModel):
    """An engagement's transfer plan: drawn up when the engagement starts, approved before
    the transfer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "approved_at": "2026-06-01T10:00:00Z",
                    "approved_by": "person:01936f0e-7a2b-7c3d-8e4f-5a6b7c8d9e01",
                    "items_total": 8,
                    "items_finished": 5,
                    "items": [_ITEM],
                }
            ]
        }
    )

    engagement_id: UUID
    approved_at: datetime | None = Field(description="Null until the plan is approved.")
    approved_by: str | None = Field(description="Who approved it.")
    items_total: int
    items_finished: int = Field(description="Items done or not applicable.")
    items: list[TransferPlanItemRead] = Field(
        description="The first 200 items, oldest first; the items endpoint pages through all."
    )


class TransferPlanApproval(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Scope agreed at the steering committee."}]},
    )

    reason: Text | None = Field(
        default=None, max_length=2000, description="Kept in the audit trail."
    )
