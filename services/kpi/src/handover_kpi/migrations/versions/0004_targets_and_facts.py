"""Targets, and the hiring facts derived metrics are computed from, under row-level security;
the catalog's derived metrics describe their formulas.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "kpi"
ALL_TENANTS = "current_setting('handover.all_tenants', true) = 'on'"
TENANT = "NULLIF(current_setting('handover.tenant', true), '')::uuid"

FACT_TABLES = [
    "filled_requisitions",
    "offers",
    "hires",
    "completed_onboardings",
    "terminations",
    "headcount_readings",
]
TENANT_TABLES = ["targets", *FACT_TABLES]

# key: (description derived from talent's facts, description before this revision)
DESCRIPTIONS = {
    "time_to_hire": (
        "Mean days from a requisition opening to the hire of a team member against it, over the "
        "hires of the month; derived from talent's facts.",
        "Days from a requisition opening to the candidate accepting the offer.",
    ),
    "offer_acceptance_rate": (
        "Offers accepted as a share of offers decided (accepted or declined) in the month, "
        "from 0 to 100; derived from talent's facts.",
        "Offers accepted as a share of offers made.",
    ),
    "onboarding_time": (
        "Mean days from a new hire's start date to completing onboarding, over the onboardings "
        "completed in the month; derived from talent's facts.",
        "Days from a new hire's start date to full productivity.",
    ),
    "head_count": (
        "Team members employed at the end of the month (the last head count told in it), read "
        "against the hiring plan; derived from talent's facts.",
        "Team members employed at the end of the period, read against the hiring plan.",
    ),
    "retention_rate": (
        "Share of the team at the start of the month still on it at its end, from 0 to 100: "
        "(H0 - L) / H0, with H0 the head count at the start and L the leavers of the month who "
        "were on the team at its start; derived from talent's facts.",
        "Share of the team at the start of the period still on it at the end.",
    ),
    "attrition_rate": (
        "Team members who left in the month as a share of its mean head count, from 0 to 100: "
        "leavers / ((H0 + H1) / 2), with H0 and H1 the head count at its start and end; "
        "derived from talent's facts.",
        "Team members who left in the period, as a share of the average head count.",
    ),
}


def _engagement_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
    ]


def _recorded_at() -> sa.Column[object]:
    return sa.Column(
        "recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _index_engagement(table: str) -> None:
    op.create_index(
        op.f(f"ix_kpi_{table}_engagement_id"), table, ["engagement_id"], unique=False, schema=SCHEMA
    )


def upgrade() -> None:
    op.create_table(
        "completed_onboardings",
        *_engagement_columns(),
        sa.Column("team_member_id", sa.Uuid(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        _recorded_at(),
        sa.PrimaryKeyConstraint("team_member_id", name=op.f("pk_completed_onboardings")),
        schema=SCHEMA,
    )
    _index_engagement("completed_onboardings")
    op.create_table(
        "filled_requisitions",
        *_engagement_columns(),
        sa.Column("requisition_id", sa.Uuid(), nullable=False),
        sa.Column("filled_at", sa.DateTime(timezone=True), nullable=False),
        _recorded_at(),
        sa.PrimaryKeyConstraint("requisition_id", name=op.f("pk_filled_requisitions")),
        schema=SCHEMA,
    )
    _index_engagement("filled_requisitions")
    op.create_table(
        "headcount_readings",
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        _recorded_at(),
        sa.PrimaryKeyConstraint("engagement_id", "as_of", name=op.f("pk_headcount_readings")),
        schema=SCHEMA,
    )
    op.create_table(
        "hires",
        *_engagement_columns(),
        sa.Column("team_member_id", sa.Uuid(), nullable=False),
        sa.Column("requisition_id", sa.Uuid(), nullable=True),
        sa.Column("application_id", sa.Uuid(), nullable=True),
        sa.Column("hired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        _recorded_at(),
        sa.PrimaryKeyConstraint("team_member_id", name=op.f("pk_hires")),
        schema=SCHEMA,
    )
    _index_engagement("hires")
    op.create_index(
        op.f("ix_kpi_hires_requisition_id"),
        "hires",
        ["requisition_id"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "offers",
        *_engagement_columns(),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("requisition_id", sa.Uuid(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        _recorded_at(),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_offers")),
        schema=SCHEMA,
    )
    _index_engagement("offers")
    op.create_table(
        "terminations",
        *_engagement_columns(),
        sa.Column("team_member_id", sa.Uuid(), nullable=False),
        sa.Column("terminated_on", sa.Date(), nullable=False),
        sa.Column("voluntary", sa.Boolean(), nullable=False),
        _recorded_at(),
        sa.PrimaryKeyConstraint("team_member_id", name=op.f("pk_terminations")),
        schema=SCHEMA,
    )
    _index_engagement("terminations")
    op.create_table(
        "targets",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        *_engagement_columns(),
        sa.Column("metric_key", sa.String(length=64), nullable=False),
        sa.Column(
            "comparator",
            sa.Enum(
                "gte",
                "gt",
                "lte",
                "lt",
                "eq",
                name="comparator",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("threshold", sa.Double(), nullable=False),
        sa.Column("at_risk_margin", sa.Double(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "manual",
                "sla",
                name="targetsource",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("sla_id", sa.Uuid(), nullable=True),
        sa.Column("window_days", sa.Integer(), nullable=True),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
        sa.UniqueConstraint("sla_id", name=op.f("uq_targets_sla_id")),
        schema=SCHEMA,
    )
    _index_engagement("targets")
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {SCHEMA}.{table} USING ({ALL_TENANTS}"
            f" OR client_id = {TENANT} OR partner_id = {TENANT})"
        )
    _describe(0)


def downgrade() -> None:
    _describe(1)
    for table in reversed(TENANT_TABLES):
        op.execute(f"DROP POLICY tenant_isolation ON {SCHEMA}.{table}")
        op.drop_table(table, schema=SCHEMA)


def _describe(which: int) -> None:
    metrics = sa.table("metrics", sa.column("key"), sa.column("description"), schema=SCHEMA)
    for key, descriptions in DESCRIPTIONS.items():
        op.execute(
            metrics.update().where(metrics.c.key == key).values(description=descriptions[which])
        )
