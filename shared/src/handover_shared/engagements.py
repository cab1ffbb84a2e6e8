"""What the engagements service tells other services about an engagement."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from handover_shared.kpi import METRIC_KEY_PATTERN, Comparator
from handover_shared.messages import MessageType

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


class Owner(StrEnum):
    """Who owns the team: the partner until transfer, the client after it."""

    PARTNER = "partner"
    CLIENT = "client"


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
                    "owner": "partner",
                    "hiring_open": True,
                    "partner_entity_id": "01936f0e-9c02-7e55-b1d3-6f7a8b9c0d12",
                    "client_entity_id": "01936f0e-8b4d-7a11-8e2f-4c6d8e0f1a23",
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
    owner: Owner = Field(description="Who owns the team now; it changes at transfer.")
    hiring_open: bool = Field(description="Whether requisitions may open in the current phase.")
    partner_entity_id: UUID | None = Field(
        default=None,
        description="The partner's legal entity that employs the team until transfer.",
    )
    client_entity_id: UUID | None = Field(
        default=None,
        description="The client's legal entity in the destination country: where a transfer "
        "moves the team.",
    )
    created_at: datetime
    updated_at: datetime


class SlaSet(BaseModel):
    """An SLA of an engagement was defined or changed; kpi measures it against its data."""

    model_config = ConfigDict(frozen=True)

    sla_id: UUID
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    metric_key: str = Field(pattern=METRIC_KEY_PATTERN)
    comparator: Comparator
    target: float = Field(allow_inf_nan=False)
    window_days: int = Field(ge=1, le=366, description="The window the metric is measured over.")
    effective_from: AwareDatetime


class SlaRemoved(BaseModel):
    """An SLA no longer applies from `removed_at`."""

    model_config = ConfigDict(frozen=True)

    sla_id: UUID
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    removed_at: AwareDatetime


SLA_SET = MessageType(name="engagements.sla_set", version=1, payload=SlaSet, aggregate_type="sla")
SLA_REMOVED = MessageType(
    name="engagements.sla_removed", version=1, payload=SlaRemoved, aggregate_type="sla"
)
