from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, DateTime, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from handover_engagements.db import Table
from handover_kit.db import id_field, text_enum, timestamp_field
from handover_shared.auth import Role


class Membership(Table, table=True):
    """A person, as their identity provider names them, and what they are here."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("issuer", "subject"),
        # Platform administrators belong to no organization; everyone else to exactly one.
        CheckConstraint(
            "(role = 'platform_admin') = (organization_id IS NULL)",
            name="platform_admin_has_no_org",
        ),
    )

    id: UUID = id_field()
    issuer: str = Field(max_length=500)
    subject: str = Field(max_length=255)
    organization_id: UUID | None = Field(
        default=None, foreign_key="engagements.organizations.id", index=True
    )
    role: Role = Field(sa_type=text_enum(Role))
    created_at: datetime = timestamp_field()


class ApiKey(Table, table=True):
    __tablename__ = "api_keys"

    id: UUID = id_field()
    organization_id: UUID | None = Field(
        default=None, foreign_key="engagements.organizations.id", index=True
    )
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    secret_sha256: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(sa_type=ARRAY(String(32)))
    created_by: str = Field(max_length=100)
    created_at: datetime = timestamp_field()
    last_used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
