from datetime import datetime
from uuid import UUID

from sqlmodel import Field

from handover_kit.db import id_field, text_enum, timestamp_field
from handover_talent.db import Table
from handover_talent.requisitions.schemas import RequisitionStatus


class Requisition(Table, table=True):
    __tablename__ = "requisitions"

    id: UUID = id_field()
    # No foreign key: engagements live in the engagements service's schema.
    engagement_id: UUID = Field(index=True)
    # The engagement's parties, copied at creation: row-level security filters on them.
    client_id: UUID
    partner_id: UUID
    title: str = Field(max_length=200)
    headcount: int
    status: RequisitionStatus = Field(
        default=RequisitionStatus.DRAFT, sa_type=text_enum(RequisitionStatus)
    )
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)
