from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from handover_shared.engagements import DeliveryModel, EngagementRead, Phase
from handover_shared.pagination import Page


class EngagementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Acme claims operations, Manila"])
    client_id: UUID = Field(description="The organization the team is built for (kind `client`).")
    partner_id: UUID = Field(
        description="The provider that builds and operates it (kind `partner`)."
    )
    delivery_model: DeliveryModel


class EngagementPage(Page[EngagementRead]):
    """A page of engagements."""


__all__ = ["DeliveryModel", "EngagementCreate", "EngagementPage", "EngagementRead", "Phase"]
