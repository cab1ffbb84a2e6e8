from datetime import date, datetime
from uuid import UUID

from sqlmodel import Field

from handover_engagements.db import Table
from handover_engagements.transfer_plans.schemas import ItemStatus, TransferScope
from handover_kit.db import id_field, text_enum, timestamp_field
from handover_shared.engagements import Owner


class TransferPlanItem(Table, table=True):
    """One thing a transfer hands over: what, who is responsible, by when, and how far along."""

    __tablename__ = "transfer_plan_items"

    id: UUID = id_field()
    engagement_id: UUID = Field(foreign_key="engagements.engagements.id", index=True)
    scope: TransferScope = Field(sa_type=text_enum(TransferScope))
    title: str = Field(max_length=200)
    owner: Owner = Field(sa_type=text_enum(Owner))
    due_on: date | None = None
    status: ItemStatus = Field(default=ItemStatus.TODO, sa_type=text_enum(ItemStatus))
    notes: str | None = Field(default=None, max_length=4000)
    version: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)
