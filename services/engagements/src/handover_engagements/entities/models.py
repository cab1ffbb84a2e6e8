from datetime import datetime
from uuid import UUID

from sqlalchemy import CHAR, Index, UniqueConstraint
from sqlmodel import Field

from handover_engagements.db import Table
from handover_kit.db import id_field, timestamp_field


class LegalEntity(Table, table=True):
    """A company an organization acts through in one country: the employer of a team, or the
    client's entity a transfer moves the team into."""

    __tablename__ = "legal_entities"
    # A registry number identifies one company within its country.
    __table_args__ = (
        Index("ix_engagements_legal_entities_organization_id", "organization_id", "id"),
        UniqueConstraint("organization_id", "country", "registration_number"),
    )

    id: UUID = id_field()
    organization_id: UUID = Field(foreign_key="engagements.organizations.id")
    name: str = Field(max_length=200)
    country: str = Field(sa_type=CHAR(2))
    registration_number: str = Field(max_length=100)
    address: str | None = Field(default=None, max_length=1000)
    version: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)
