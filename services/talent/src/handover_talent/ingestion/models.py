from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, Index, LargeBinary, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from handover_kit.db import id_field, text_enum, timestamp_field
from handover_talent.db import Table
from handover_talent.ingestion.schemas import EventChannel, EventStatus


class HrisSource(Table, table=True):
    """An HRIS or ATS that pushes hiring events for one engagement."""

    __tablename__ = "hris_sources"

    id: UUID = id_field()
    # No foreign key: engagements live in the engagements service's schema.
    engagement_id: UUID = Field(index=True)
    # The engagement's parties, copied at creation: row-level security filters on them.
    client_id: UUID
    partner_id: UUID
    name: str = Field(max_length=200)
    # A plain string, not a checked enum: a new vendor is a new adapter, not a migration.
    vendor: str = Field(max_length=32)
    # Encrypted (ingestion.secrets): verifying an HMAC needs the secret itself, not a hash.
    secret_sealed: str
    previous_secret_sealed: str | None = None
    previous_secret_expires_at: datetime | None = Field(
        default=None, sa_type=DateTime(timezone=True)
    )
    secret_rotated_at: datetime = timestamp_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)


class HrisEvent(Table, table=True):
    """One delivery from a source, stored as it arrived before it is acknowledged, and what
    became of it. The unique index on (source, event id) among originals is what keeps a
    redelivery from being applied twice; a redelivery is kept as a `duplicate` row."""

    __tablename__ = "hris_events"
    __table_args__ = (
        Index(
            "uq_hris_events_source_event",
            "source_id",
            "event_id",
            unique=True,
            postgresql_where=text("duplicate_of IS NULL"),
        ),
        Index("ix_hris_events_source_id_id", "source_id", "id"),
        Index("ix_hris_events_source_id_candidate_ref", "source_id", "candidate_ref"),
        Index("ix_hris_events_pending", "id", postgresql_where=text("status = 'received'")),
    )

    id: UUID = id_field()
    source_id: UUID = Field(foreign_key="talent.hris_sources.id")
    client_id: UUID
    partner_id: UUID
    event_id: str = Field(max_length=200)
    channel: EventChannel = Field(sa_type=text_enum(EventChannel))
    action: str = Field(max_length=100)
    kind: str | None = Field(default=None, max_length=64)
    # The candidate's id at the source: what erasing the person finds their deliveries by.
    candidate_ref: str | None = Field(default=None, max_length=200)
    status: EventStatus = Field(default=EventStatus.RECEIVED, sa_type=text_enum(EventStatus))
    reason: str | None = None
    duplicate_of: UUID | None = Field(default=None, foreign_key="talent.hris_events.id")
    headers: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    # The bytes as received: what the signature covered. None for a duplicate.
    body: bytes | None = Field(default=None, sa_type=LargeBinary)
    received_at: datetime = timestamp_field()
    processed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
