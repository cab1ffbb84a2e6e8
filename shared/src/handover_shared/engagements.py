"""What the engagements service tells other services about an engagement."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

# The problem type of a 404 that means "no such engagement", as opposed to "no such route".
ENGAGEMENT_NOT_FOUND = "/problems/engagement-not-found"


class DeliveryModel(StrEnum):
    BOT = "bot"
    BTO = "bto"
    HYBRID = "hybrid"


class Phase(StrEnum):
    BUILD = "build"
    OPERATE = "operate"
    TRANSFER = "transfer"
    TRANSFERRED = "transferred"
    MANAGED = "managed"
    TERMINATED = "terminated"


class EngagementRead(BaseModel):
    """An engagement as the API and the other services see it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "name": "Acme claims operations, Manila",
                    "client_id": "01936f0e-8a3c-7c2a-9f1e-3b5d7a9c1e20",
                    "partner_id": "01936f0e-9b41-7d10-a2c4-5e6f7a8b9c01",
                    "delivery_model": "bot",
                    "phase": "build",
                    "created_at": "2025-01-15T09:45:00Z",
                    "updated_at": "2025-01-15T09:45:00Z",
                }
            ]
        },
    )

    id: UUID
    name: str
    client_id: UUID
    partner_id: UUID
    delivery_model: DeliveryModel
    phase: Phase
    created_at: datetime
    updated_at: datetime
