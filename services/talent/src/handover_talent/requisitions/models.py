from datetime import date, datetime
from uuid import UUID

from sqlalchemy import DateTime, UniqueConstraint, text
from sqlmodel import Field

from handover_kit.db import id_field, text_enum, timestamp_field
from handover_talent.db import Table
from handover_talent.requisitions.schemas import RequisitionStatus


class Requisition(Table, table=True):
    __tablename__ = "requisitions"
    # Unique per engagement: HRIS events name their job, and exactly one requisition answers.
    __table_args__ = (UniqueConstraint("engagement_id", "external_job_id"),)

    id: UUID = id_field()
    # No foreign key: engagements live in the engagements service's schema.
    engagement_id: UUID = Field(index=True)
    # The engagement's parties, copied at creation: row-level security filters on them.
    client_id: UUID
    partner_id: UUID
    role_id: UUID | None = Field(default=None, foreign_key="talent.roles.id")
    title: str = Field(max_length=200)
    headcount: int
    target_start: date | None = None
    external_job_id: str | None = Field(default=None, max_length=200)
    partner_entity_id: UUID | None = None
    status: RequisitionStatus = Field(
        default=RequisitionStatus.DRAFT, sa_type=text_enum(RequisitionStatus)
    )
    opened_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    filled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    version: int = Field(default=1, sa_column_kwargs={"server_default": text("1")})
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)
