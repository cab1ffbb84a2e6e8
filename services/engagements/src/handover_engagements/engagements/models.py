from datetime import datetime
from uuid import UUID

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
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)

    @property
    def owner(self) -> Owner:
        return Owner.CLIENT if self.phase == Phase.TRANSFERRED else Owner.PARTNER

    @property
    def hiring_open(self) -> bool:
        return self.phase in (Phase.BUILD, Phase.OPERATE, Phase.MANAGED)
