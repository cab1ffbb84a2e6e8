"""Facts the talent service tells other services about hiring."""

from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from handover_shared.messages import MessageType


class RequisitionOpened(BaseModel):
    """A requisition was opened: the clock of time to hire starts at `opened_at`."""

    model_config = ConfigDict(frozen=True)

    requisition_id: UUID
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    title: str = Field(min_length=1, max_length=200)
    headcount: int = Field(ge=1)
    opened_at: AwareDatetime


REQUISITION_OPENED = MessageType(
    name="talent.requisition_opened",
    version=1,
    payload=RequisitionOpened,
    aggregate_type="requisition",
)
