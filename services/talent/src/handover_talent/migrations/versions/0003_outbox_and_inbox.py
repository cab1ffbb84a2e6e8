"""The outbox and inbox: facts this service tells other services, and facts it was told.

No row-level security: only the service itself reads them, never on behalf of a tenant.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("message_type", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=63), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_inbox")),
        schema="talent",
    )
    op.create_index(
        op.f("ix_inbox_received_at"), "inbox", ["received_at"], unique=False, schema="talent"
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("message_type", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=63), nullable=False),
        sa.Column("aggregate_type", sa.String(length=100), nullable=False),
        sa.Column("aggregate_id", sa.Uuid(), nullable=False),
        sa.Column("destination", sa.String(length=63), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.Uuid(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
        schema="talent",
    )
    op.create_index(
        op.f("ix_outbox_dead"),
        "outbox",
        ["id"],
        unique=False,
        schema="talent",
        postgresql_where=sa.text("dead_at IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_outbox_pending"),
        "outbox",
        ["id"],
        unique=False,
        schema="talent",
        postgresql_where=sa.text("delivered_at IS NULL AND dead_at IS NULL"),
    )
    op.create_index(
        op.f("ix_outbox_undelivered_by_aggregate"),
        "outbox",
        ["aggregate_type", "aggregate_id", "id"],
        unique=False,
        schema="talent",
        postgresql_where=sa.text("delivered_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_outbox_undelivered_by_aggregate"),
        table_name="outbox",
        schema="talent",
        postgresql_where=sa.text("delivered_at IS NULL"),
    )
    op.drop_index(
        op.f("ix_outbox_pending"),
        table_name="outbox",
        schema="talent",
        postgresql_where=sa.text("delivered_at IS NULL AND dead_at IS NULL"),
    )
    op.drop_index(
        op.f("ix_outbox_dead"),
        table_name="outbox",
        schema="talent",
        postgresql_where=sa.text("dead_at IS NOT NULL"),
    )
    op.drop_table("outbox", schema="talent")
    op.drop_index(op.f("ix_inbox_received_at"), table_name="inbox", schema="talent")
    op.drop_table("inbox", schema="talent")
