from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from handover_engagements.db import Table
from handover_kit.db import id_field, timestamp_field


class AuditEvent(Table, table=True):
    """One change to an engagement or a part of it: who, when, what before and after, and why.
    Rows are only ever inserted."""

    __tablename__ = "audit_events"

    id: UUID = id_field()
    engagement_id: UUID = Field(foreign_key="engagements.engagements.id", index=True)
    at: datetime = timestamp_field()
    actor: str = Field(max_length=100)
    action: str = Field(max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    reason: str | None = Field(default=None, max_length=2000)
