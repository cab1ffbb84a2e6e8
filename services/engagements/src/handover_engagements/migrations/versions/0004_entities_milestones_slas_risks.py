"""Legal entities of organizations; milestones, SLAs and risks of engagements.

Every table is a tenant table with a FORCED row-level-security policy, as in 0002: a legal
entity belongs to its organization, and the parts of an engagement to its client and its
partner, whose ids are copied onto the rows so the policy checks them without a join.

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

SCHEMA = "engagements"

TENANT_COLUMNS = {
    "legal_entities": ["organization_id"],
    "milestones": ["client_id", "partner_id"],
    "slas": ["client_id", "partner_id"],
    "risks": ["client_id", "partner_id"],
}
ALL_TENANTS = "current_setting('handover.all_tenants', true) = 'on'"
TENANT = "NULLIF(current_setting('handover.tenant', true), '')::uuid"


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _id() -> sa.Column[object]:
    return sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False)


def _version_and_timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
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
    ]


def _engagement_columns(table: str) -> list[sa.Column[object] | sa.Constraint]:
    """The engagement a part belongs to, and its client and partner for the policy."""
    return [
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            [f"{SCHEMA}.engagements.id"],
            name=op.f(f"fk_{table}_engagement_id_engagements"),
        ),
    ]


OWNER = ("client", "partner")
PHASES = ("build", "operate", "transfer", "transferred", "managed", "terminated")


def upgrade() -> None:
    op.create_table(
        "legal_entities",
        _id(),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.CHAR(length=2), nullable=False),
        sa.Column("registration_number", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=1000), nullable=True),
        *_version_and_timestamps(),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            [f"{SCHEMA}.organizations.id"],
            name=op.f("fk_legal_entities_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_entities")),
        # A registry number identifies one company within its country.
        sa.UniqueConstraint(
            "organization_id",
            "country",
            "registration_number",
            name=op.f("uq_legal_entities_organization_id"),
        ),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_engagements_legal_entities_organization_id"),
        "legal_entities",
        ["organization_id", "id"],
        schema=SCHEMA,
    )

    op.create_table(
        "milestones",
        _id(),
        *_engagement_columns("milestones"),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("phase", _enum("phase", *PHASES), nullable=False),
        sa.Column("owner", _enum("owner", *OWNER), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            _enum("milestonestatus", "planned", "in_progress", "done", "blocked", "cancelled"),
            nullable=False,
        ),
        sa.Column("evidence_note", sa.String(length=2000), nullable=True),
        sa.Column("evidence_url", sa.String(length=2048), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        *_version_and_timestamps(),
        # Done means proven and dated; the service says so first, this keeps it true.
        sa.CheckConstraint(
            "status <> 'done' OR ((evidence_note IS NOT NULL OR evidence_url IS NOT NULL)"
            " AND completed_at IS NOT NULL)",
            name=op.f("ck_milestones_done_has_evidence"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_engagements_milestones_engagement_id"),
        "milestones",
        ["engagement_id", "id"],
        schema=SCHEMA,
    )

    op.create_table(
        "slas",
        _id(),
        *_engagement_columns("slas"),
        sa.Column("metric_key", sa.String(length=64), nullable=False),
        sa.Column(
            "comparator", _enum("comparator", "gte", "gt", "lte", "lt", "eq"), nullable=False
        ),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("window_days BETWEEN 1 AND 366", name=op.f("ck_slas_window_days_range")),
        *_version_and_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slas")),
        # One SLA per metric of an engagement: kpi keys its targets the same way.
        sa.UniqueConstraint("engagement_id", "metric_key", name=op.f("uq_slas_engagement_id")),
        schema=SCHEMA,
    )

    op.create_table(
        "risks",
        _id(),
        *_engagement_columns("risks"),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=True),
        sa.Column("likelihood", sa.SmallInteger(), nullable=False),
        sa.Column("impact", sa.SmallInteger(), nullable=False),
        sa.Column(
            "severity",
            sa.SmallInteger(),
            sa.Computed("likelihood * impact", persisted=True),
            nullable=False,
        ),
        sa.Column("mitigation", sa.String(length=4000), nullable=True),
        sa.Column("owner", _enum("owner", *OWNER), nullable=False),
        sa.Column(
            "status",
            _enum("riskstatus", "open", "mitigated", "accepted", "closed"),
            nullable=False,
        ),
        *_version_and_timestamps(),
        sa.CheckConstraint("likelihood BETWEEN 1 AND 5", name=op.f("ck_risks_likelihood_range")),
        sa.CheckConstraint("impact BETWEEN 1 AND 5", name=op.f("ck_risks_impact_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risks")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_engagements_risks_engagement_id_severity"),
        "risks",
        ["engagement_id", "severity", "id"],
        schema=SCHEMA,
    )

    for table, columns in TENANT_COLUMNS.items():
        mine = " OR ".join(f"{column} = {TENANT}" for column in columns)
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {SCHEMA}.{table} USING ({ALL_TENANTS} OR {mine})"
        )


def downgrade() -> None:
    for table in TENANT_COLUMNS:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {SCHEMA}.{table}")
    op.drop_table("risks", schema=SCHEMA)
    op.drop_table("slas", schema=SCHEMA)
    op.drop_table("milestones", schema=SCHEMA)
    op.drop_table("legal_entities", schema=SCHEMA)
