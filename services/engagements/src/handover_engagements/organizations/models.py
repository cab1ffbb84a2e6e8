from datetime import datetime
from uuid import UUID

from sqlmodel import Field

from handover_engagements.db import Table
from handover_engagements.organizations.schemas import OrganizationKind
from handover_kit.db import id_field, text_enum, timestamp_field


class Organization(Table, table=True):
    __tablename__ = "organizations"

    id: UUID = id_field()
    name: str = Field(max_length=200, unique=True)
    kind: OrganizationKind = Field(sa_type=text_enum(OrganizationKind))
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)
