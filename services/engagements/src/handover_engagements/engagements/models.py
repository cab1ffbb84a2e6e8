from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field

from handover_engagements.db import Table
from handover_kit.db import id_field, text_enum, timestamp_field
from handover_shared.engagements import DeliveryModel, Owner, Phase


class Engagement(Table, table=True):
    __tablename__ = "engagements"

    id: UUID = id_field()
    name: str = Field(max_length=200)
    client_id: UUID = Field(foreign_key="engagements.organizations.id", index=True)
    partner_id: UUID = Field(foreign_key="engagements.organizations.id", index=True)
    delivery_model: DeliveryModel = Field(sa_type=text_enum(DeliveryModel))
    phase: Phase = Field(default=Phase.BUILD, sa_type=text_enum(Phase))
    owner: Owner = Field(default=Owner.PARTNER, sa_type=text_enum(Owner))
    business_functions: list[str] = Field(default_factory=list, sa_type=ARRAY(String(32)))
    destination_country: str | None = Field(default=None, max_length=2)
    site: str | None = Field(default=None, max_length=200)
    planned_headcount: int | None = None
    contract_signed_on: date | None = None
    planned_phases: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    """`{phase: {"start": date, "end": date}}`, as planned."""
    actual_phases: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    """`{phase: {"start": date, "end": date | None}}`, as it happened."""
    transfer_option: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    transitions: list[list[str]] = Field(default_factory=list, sa_type=JSONB)
    """The model's allowed `[from, to]` phase pairs, fixed at creation (terminations aside)."""
    partner_entity_id: UUID | None = Field(
        default=None, foreign_key="engagements.legal_entities.id"
    )
    client_entity_id: UUID | None = Field(default=None, foreign_key="engagements.legal_entities.id")
    transfer_plan_approved_at: datetime | None = Field(
        default=None, sa_type=DateTime(timezone=True)
    )
    transfer_plan_approved_by: str | None = Field(default=None, max_length=100)
    version: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)

    @property
    def hiring_open(self) -> bool:
        # Under BTO the partner keeps operating after the transfer, and keeps hiring.
        if self.phase is Phase.TRANSFERRED:
            return self.delivery_model is DeliveryModel.BTO
        return self.phase in (Phase.BUILD, Phase.OPERATE, Phase.MANAGED)
