from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from handover_shared.pagination import Page


class AuditEventRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01936f1a-0c2e-7b3d-9a41-5e6f7a8b9c02",
                    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "at": "2025-04-01T08:00:00Z",
                    "actor": "person:01936f0e-7a2b-7c3d-8e4f-5a6b7c8d9e01",
                    "action": "engagement.transitioned",
                    "before": {"phase": "build"},
                    "after": {"phase": "operate"},
                    "reason": "Team of 12 hired and onboarded; build milestones signed off.",
                }
            ]
        },
    )

    id: UUID
    engagement_id: UUID
    at: datetime = Field(description="When the change was made.")
    actor: str = Field(
        description="Who made it: `person:<id>`, `api_key:<id>` or `service:<name>`.",
        examples=["person:01936f0e-7a2b-7c3d-8e4f-5a6b7c8d9e01"],
    )
    action: str = Field(
        description="What was done, as `<resource>.<verb>`.",
        examples=["engagement.transitioned"],
    )
    before: dict[str, Any] | None = Field(
        description="The changed fields as they were; absent for a creation."
    )
    after: dict[str, Any] | None = Field(
        description="The changed fields as they became; absent for a removal."
    )
    reason: str | None = Field(
        description="Why, as the actor stated it (required for a gate override)."
    )


class AuditEventPage(Page[AuditEventRead]):
    """A page of an engagement's audit trail, oldest event first."""
