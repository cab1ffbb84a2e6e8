"""The hiring pipeline: role definitions, requisitions that open for a role, candidates and
their applications with the full history of what happened to them, team members and the
transitions of their employment contracts.

Every new table carries the engagement's parties and a forced row-level security policy.
The history (`pipeline_events`) is unique per candidate and event key: applying an event
twice inserts nothing the second time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "talent"
ALL_TENANTS = "current_setting('handover.all_tenants', true) = 'on'"
TENANT = "NULLIF(current_setting('handover.tenant', true), '')::uuid"
TABLES = (
    "roles",
    "candidates",
    "applications",
    "pipeline_events",
    "team_members",
    "employment_transfers",
    "employment_transitions",
)
STAGES = ("sourced", "screening", "interview", "offer", "hired", "rejected", "withdrawn")


def _timestamp(name: str, *, nullable: bool = False, default: bool = True) -> sa.Column[Any]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.text("now()") if default else None,
        nullable=nullable,
    )


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False)


def _parties() -> list[sa.Column[Any]]:
    return [
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
    ]


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _fk(table: str, column: str, referred: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{SCHEMA}.{referred}.id"], name=op.f(f"fk_{table}_{column}_{referred}")
    )


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{SCHEMA}_{table}_{columns[0]}"), table, list(columns), schema=SCHEMA)


def upgrade() -> None:
    op.create_table(
        "roles",
        _id(),
        *_parties(),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("function", sa.String(length=100), nullable=False),
        sa.Column("seniority", sa.String(length=50), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("salary_currency", sa.String(length=3), nullable=True),
        sa.Column("salary_min", sa.BigInteger(), nullable=True),
        sa.Column("salary_max", sa.BigInteger(), nullable=True),
        sa.Column("responsibilities", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("success_criteria", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max",
            name=op.f("ck_roles_salary_band"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        schema=SCHEMA,
    )
    _index("roles", "engagement_id")

    # Expand only: every new requisition column is nullable or defaulted, so the previous
    # release keeps inserting requisitions on this schema.
    op.add_column("requisitions", sa.Column("role_id", sa.Uuid(), nullable=True), schema=SCHEMA)
    op.add_column(
        "requisitions", sa.Column("target_start", sa.Date(), nullable=True), schema=SCHEMA
    )
    op.add_column(
        "requisitions",
        sa.Column("external_job_id", sa.String(length=200), nullable=True),
        schema=SCHEMA,
    )
    # The partner's employing entity as the engagements service named it when the requisition
    # last opened: hires applied from HRIS events (which cannot wait on another service) take it.
    op.add_column(
        "requisitions", sa.Column("partner_entity_id", sa.Uuid(), nullable=True), schema=SCHEMA
    )
    op.add_column(
        "requisitions", _timestamp("opened_at", nullable=True, default=False), schema=SCHEMA
    )
    op.add_column(
        "requisitions", _timestamp("filled_at", nullable=True, default=False), schema=SCHEMA
    )
    op.add_column(
        "requisitions",
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        schema=SCHEMA,
    )
    op.create_foreign_key(
        op.f("fk_requisitions_role_id_roles"),
        "requisitions",
        "roles",
        ["role_id"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
    )
    op.create_unique_constraint(
        op.f("uq_requisitions_engagement_id"),
        "requisitions",
        ["engagement_id", "external_job_id"],
        schema=SCHEMA,
    )

    op.create_table(
        "candidates",
        _id(),
        *_parties(),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        _timestamp("erased_at", nullable=True, default=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidates")),
        sa.UniqueConstraint("source_id", "external_id", name=op.f("uq_candidates_source_id")),
        schema=SCHEMA,
    )
    _index("candidates", "engagement_id")

    op.create_table(
        "applications",
        _id(),
        *_parties(),
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("requisition_id", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("stage", _enum("applicationstage", *STAGES), nullable=False),
        _timestamp("stage_entered_at", default=False),
        _timestamp("offer_made_at", nullable=True, default=False),
        _timestamp("offer_decided_at", nullable=True, default=False),
        sa.Column("offer_accepted", sa.Boolean(), nullable=True),
        _timestamp("hired_at", nullable=True, default=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("offer_made_told", sa.Boolean(), nullable=False),
        sa.Column("offer_decided_told", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _fk("applications", "candidate_id", "candidates"),
        _fk("applications", "requisition_id", "requisitions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("source_id", "external_id", name=op.f("uq_applications_source_id")),
        schema=SCHEMA,
    )
    _index("applications", "candidate_id")
    _index("applications", "requisition_id")

    op.create_table(
        "pipeline_events",
        _id(),
        *_parties(),
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("stage", _enum("applicationstage", *STAGES), nullable=True),
        _timestamp("occurred_at", default=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("event_key", sa.String(length=300), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _timestamp("recorded_at"),
        _fk("pipeline_events", "candidate_id", "candidates"),
        _fk("pipeline_events", "application_id", "applications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_events")),
        sa.UniqueConstraint(
            "candidate_id", "event_key", name=op.f("uq_pipeline_events_candidate_id")
        ),
        schema=SCHEMA,
    )
    _index("pipeline_events", "application_id")

    op.create_table(
        "team_members",
        _id(),
        *_parties(),
        sa.Column("candidate_id", sa.Uuid(), nullable=True),
        sa.Column("application_id", sa.Uuid(), nullable=True),
        sa.Column("requisition_id", sa.Uuid(), nullable=True),
        sa.Column("role_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            _enum("memberstatus", "onboarding", "active", "terminated", "reversed"),
            nullable=False,
        ),
        sa.Column("start_date", sa.Date(), nullable=False),
        _timestamp("hired_at", default=False),
        sa.Column("employer_entity_id", sa.Uuid(), nullable=True),
        sa.Column("onboarded_on", sa.Date(), nullable=True),
        sa.Column("terminated_on", sa.Date(), nullable=True),
        sa.Column("termination_reason", sa.String(length=500), nullable=True),
        sa.Column("voluntary", sa.Boolean(), nullable=True),
        sa.Column("hired_told", sa.Boolean(), nullable=False),
        sa.Column("onboarded_told", sa.Boolean(), nullable=False),
        sa.Column("terminated_told", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _fk("team_members", "candidate_id", "candidates"),
        _fk("team_members", "application_id", "applications"),
        _fk("team_members", "requisition_id", "requisitions"),
        _fk("team_members", "role_id", "roles"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_members")),
        sa.UniqueConstraint("application_id", name=op.f("uq_team_members_application_id")),
        schema=SCHEMA,
    )
    _index("team_members", "engagement_id")

    op.create_table(
        "employment_transfers",
        _id(),
        *_parties(),
        sa.Column("to_entity_id", sa.Uuid(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employment_transfers")),
        schema=SCHEMA,
    )
    _index("employment_transfers", "engagement_id")

    op.create_table(
        "employment_transitions",
        _id(),
        *_parties(),
        sa.Column("transfer_id", sa.Uuid(), nullable=True),
        sa.Column("team_member_id", sa.Uuid(), nullable=False),
        sa.Column("from_entity_id", sa.Uuid(), nullable=True),
        sa.Column("to_entity_id", sa.Uuid(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        _timestamp("created_at"),
        _fk("employment_transitions", "transfer_id", "employment_transfers"),
        _fk("employment_transitions", "team_member_id", "team_members"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employment_transitions")),
        schema=SCHEMA,
    )
    _index("employment_transitions", "transfer_id")
    _index("employment_transitions", "team_member_id")

    for table in TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {SCHEMA}.{table} USING ({ALL_TENANTS}"
            f" OR client_id = {TENANT} OR partner_id = {TENANT})"
        )


def downgrade() -> None:
    for table in reversed(TABLES[1:]):
        op.drop_table(table, schema=SCHEMA)
    op.drop_constraint(
        op.f("uq_requisitions_engagement_id"), "requisitions", schema=SCHEMA, type_="unique"
    )
    op.drop_constraint(
        op.f("fk_requisitions_role_id_roles"), "requisitions", schema=SCHEMA, type_="foreignkey"
    )
    for column in (
        "version",
        "filled_at",
        "opened_at",
        "partner_entity_id",
        "external_job_id",
        "target_start",
    ):
        op.drop_column("requisitions", column, schema=SCHEMA)
    op.drop_column("requisitions", "role_id", schema=SCHEMA)
    op.drop_table("roles", schema=SCHEMA)
