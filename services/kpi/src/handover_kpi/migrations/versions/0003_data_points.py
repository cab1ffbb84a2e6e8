"""Data points of the engagements' metrics, and their revisions, under row-level security.

A point's natural key is (engagement, metric, instant, dimensions). Every insert and every
correction of a point writes one revision; revisions are the change feed scripts sync from,
ordered by the id of the transaction that wrote them (`txid`) and then by `seq`.

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

SCHEMA = "kpi"
ALL_TENANTS = "current_setting('handover.all_tenants', true) = 'on'"
TENANT = "NULLIF(current_setting('handover.tenant', true), '')::uuid"
TENANT_TABLES = ["data_points", "data_point_revisions"]


def upgrade() -> None:
    op.create_table(
        "data_points",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("metric_key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "dimensions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "jsonb_typeof(dimensions) = 'object'", name=op.f("ck_data_points_dimensions_object")
        ),
        sa.CheckConstraint(
            "value <> 'NaN'::float8 AND value <> 'Infinity'::float8"
            " AND value <> '-Infinity'::float8",
            name=op.f("ck_data_points_value_finite"),
        ),
        sa.ForeignKeyConstraint(
            ["metric_key"],
            [f"{SCHEMA}.metrics.key"],
            name=op.f("fk_data_points_metric_key_metrics"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_points")),
        schema=SCHEMA,
    )
    # The natural key, and the index series read: one engagement and metric over a range of
    # instants. INCLUDE lets a series be answered from the index alone, the tenancy columns
    # included because the row-level security policy reads them.
    op.execute(
        f"CREATE UNIQUE INDEX uq_data_points_natural_key ON {SCHEMA}.data_points"
        " (engagement_id, metric_key, at, dimensions) INCLUDE (value, client_id, partner_id)"
    )
    op.create_table(
        "data_point_revisions",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        # The 64-bit id of the writing transaction (an xid8, which fits a bigint).
        sa.Column(
            "txid",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id()::text::bigint)"),
            nullable=False,
        ),
        sa.Column("point_id", sa.Uuid(), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["point_id"],
            [f"{SCHEMA}.data_points.id"],
            name=op.f("fk_data_point_revisions_point_id_data_points"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_data_point_revisions")),
        sa.UniqueConstraint("point_id", "revision", name=op.f("uq_data_point_revisions_point_id")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_data_point_revisions_txid"),
        "data_point_revisions",
        ["txid", "seq"],
        unique=False,
        schema=SCHEMA,
    )
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {SCHEMA}.{table} USING ({ALL_TENANTS}"
            f" OR client_id = {TENANT} OR partner_id = {TENANT})"
        )


def downgrade() -> None:
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY tenant_isolation ON {SCHEMA}.{table}")
    op.drop_index(
        op.f("ix_data_point_revisions_txid"), table_name="data_point_revisions", schema=SCHEMA
    )
    op.drop_table("data_point_revisions", schema=SCHEMA)
    op.execute(f"DROP INDEX {SCHEMA}.uq_data_points_natural_key")
    op.drop_table("data_points", schema=SCHEMA)
