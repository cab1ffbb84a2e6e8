"""HRIS/ATS ingestion: sources with their sealed signing secrets, and every event they sent.

Both tables carry the engagement's parties and a forced row-level security policy. Events are
unique per (source, event id) among originals: the index, not a lookup, keeps a redelivery
from being applied twice.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "talent"
ALL_TENANTS = "current_setting('handover.all_tenants', true) = 'on'"
TENANT = "NULLIF(current_setting('handover.tenant', true), '')::uuid"
TABLES = ("hris_sources", "hris_events")


def _timestamp(name: str, *, nullable: bool = False, default: bool = True) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.text("now()") if default else None,
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "hris_sources",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=False),
        sa.Column("secret_sealed", sa.String(), nullable=False),
        sa.Column("previous_secret_sealed", sa.String(), nullable=True),
        _timestamp("previous_secret_expires_at", nullable=True, default=False),
        _timestamp("secret_rotated_at"),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hris_sources")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_talent_hris_sources_engagement_id"),
        "hris_sources",
        ["engagement_id"],
        schema=SCHEMA,
    )
    op.create_table(
        "hris_events",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "webhook",
                "batch",
                name="eventchannel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=True),
        sa.Column("candidate_ref", sa.String(length=200), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "applied",
                "duplicate",
                "ignored",
                "dead",
                name="eventstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("duplicate_of", sa.Uuid(), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        _timestamp("received_at"),
        _timestamp("processed_at", nullable=True, default=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            [f"{SCHEMA}.hris_sources.id"],
            name=op.f("fk_hris_events_source_id_hris_sources"),
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            [f"{SCHEMA}.hris_events.id"],
            name=op.f("fk_hris_events_duplicate_of_hris_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hris_events")),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_hris_events_source_event",
        "hris_events",
        ["source_id", "event_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("duplicate_of IS NULL"),
    )
    op.create_index(
        "ix_hris_events_source_id_id", "hris_events", ["source_id", "id"], schema=SCHEMA
    )
    op.create_index(
        "ix_hris_events_source_id_candidate_ref",
        "hris_events",
        ["source_id", "candidate_ref"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_hris_events_pending",
        "hris_events",
        ["id"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'received'"),
    )
    for table in TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {SCHEMA}.{table} USING ({ALL_TENANTS}"
            f" OR client_id = {TENANT} OR partner_id = {TENANT})"
        )


def downgrade() -> None:
    op.drop_table("hris_events", schema=SCHEMA)
    op.drop_table("hris_sources", schema=SCHEMA)
