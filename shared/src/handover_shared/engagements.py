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

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    client_id: UUID
    partner_id: UUID
    delivery_model: DeliveryModel
    phase: Phase
    created_at: datetime
    updated_at: datetime
