from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from handover_shared.engagements import DeliveryModel, EngagementRead, Phase
from handover_shared.pagination import Page
from handover_shared.text import Text


class EngagementCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Acme claims operations, Manila",
                    "client_id": "01936f0e-8a3c-7c2a-9f1e-3b5d7a9c1e20",
                    "partner_id": "01936f0e-9b41-7d10-a2c4-5e6f7a8b9c01",
                    "delivery_model": "bot",
                }
            ]
        },
    )

    name: Text = Field(min_length=1, max_length=200, examples=["Acme claims operations, Manila"])
    client_id: UUID = Field(description="The organization the team is built for (kind `client`).")
    partner_id: UUID = Field(
        description="The provider that builds and operates it (kind `partner`)."
    )
    delivery_model: DeliveryModel


class EngagementPage(Page[EngagementRead]):
    """A page of engagements."""


__all__ = ["DeliveryModel", "EngagementCreate", "EngagementPage", "EngagementRead", "Phase"]
