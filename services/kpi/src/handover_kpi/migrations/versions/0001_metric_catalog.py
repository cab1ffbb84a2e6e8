"""The metric catalog, with the built-in BOT metrics.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "kpi"

# key, name, unit, aggregation, direction, description
BUILT_IN_METRICS = [
    (
        "productivity_output",
        "Productivity output",
        "count",
        "sum",
        "higher_is_better",
        "Units of work the team delivered in the period, as the engagement defines them.",
    ),
    (
        "quality_score",
        "Quality score",
        "percent",
        "avg",
        "higher_is_better",
        "Score of delivered work against the agreed quality benchmarks, from 0 to 100.",
    ),
    (
        "sla_compliance",
        "SLA compliance",
        "percent",
        "ratio",
        "higher_is_better",
        "Share of SLA-bound work delivered within its service level.",
    ),
    (
        "retention_rate",
        "Retention rate",
        "percent",
        "ratio",
        "higher_is_better",
        "Share of the team at the start of the period still on it at the end.",
    ),
    (
        "attrition_rate",
        "Attrition rate",
        "percent",
        "ratio",
        "lower_is_better",
        "Team members who left in the period, as a share of the average head count.",
    ),
    (
        "time_to_hire",
        "Time to hire",
        "days",
        "avg",
        "lower_is_better",
        "Days from a requisition opening to the candidate accepting the offer.",
    ),
    (
        "offer_acceptance_rate",
        "Offer acceptance rate",
        "percent",
        "ratio",
        "higher_is_better",
        "Offers accepted as a share of offers made.",
    ),
    (
        "onboarding_time",
        "Onboarding time",
        "days",
        "avg",
        "lower_is_better",
        "Days from a new hire's start date to full productivity.",
    ),
    (
        "head_count",
        "Head count",
        "count",
        "last",
        "higher_is_better",
        "Team members employed at the end of the period, read against the hiring plan.",
    ),
    (
        "cost_per_role",
        "Cost per role",
        "currency",
        "ratio",
        "lower_is_better",
        "Fully loaded cost of the team per filled role, read against the financial model.",
    ),
    (
        "partner_fee",
        "Partner fee",
        "currency",
        "sum",
        "lower_is_better",
        "Fees the partner charged for building and operating the team in the period.",
    ),
]


def upgrade() -> None:
    metrics = op.create_table(
        "metrics",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column(
            "unit",
            sa.Enum(
                "percent",
                "days",
                "count",
                "currency",
                "fte",
                "ratio",
                name="metricunit",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "aggregation",
            sa.Enum(
                "sum",
                "avg",
                "min",
                "max",
                "last",
                "ratio",
                name="metricaggregation",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "direction",
            sa.Enum(
                "higher_is_better",
                "lower_is_better",
                name="metricdirection",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("built_in", sa.Boolean(), nullable=False),
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
        sa.PrimaryKeyConstraint("key", name=op.f("pk_metrics")),
        schema=SCHEMA,
    )
    op.bulk_insert(
        metrics,
        [
            {
                "key": key,
                "name": name,
                "unit": unit,
                "aggregation": aggregation,
                "direction": direction,
                "description": description,
                "built_in": True,
            }
            for key, name, unit, aggregation, direction, description in BUILT_IN_METRICS
        ],
    )


def downgrade() -> None:
    op.drop_table("metrics", schema=SCHEMA)
