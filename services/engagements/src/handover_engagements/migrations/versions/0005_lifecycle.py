"""The engagement lifecycle: its terms, phases and ownership, a version for optimistic
concurrency, the transfer plan, the audit trail, and idempotency keys.

Engagements that exist already get their model's transitions, their owner, the start of the
phase they are in, and the standard transfer plan.

Transfer plan items and audit events belong to an engagement: their policy lets a
transaction see those of the engagements it sees, which the engagements' own policy decides.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "engagements"
ALL_TENANTS = "current_setting('handover.all_tenants', true) = 'on'"
# Built from this module's constants only, as is every statement below.
OF_A_VISIBLE_ENGAGEMENT = (
    f"EXISTS (SELECT 1 FROM {SCHEMA}.engagements e WHERE e.id = engagement_id)"  # noqa: S608
)
PART_TABLES = ("transfer_plan_items", "audit_events")

BOT = '[["build", "operate"], ["operate", "managed"], ["operate", "transfer"], ["transfer", "transferred"]]'
BTO = '[["build", "transfer"], ["transfer", "transferred"]]'
HYBRID = (
    '[["build", "operate"], ["build", "transfer"], ["operate", "managed"],'
    ' ["operate", "transfer"], ["transfer", "transferred"]]'
)
STANDARD_SCOPE = [
    ("employment_contracts", "Employment contracts", "client"),
    ("facility_leases", "Office or facility leases", "partner"),
    ("it_infrastructure", "IT infrastructure", "partner"),
    ("process_documentation", "Process documentation", "partner"),
    ("hr_payroll_systems", "HR and payroll systems", "client"),
    ("vendor_contracts", "Third-party vendor contracts", "partner"),
    ("knowledge_transfer", "Knowledge transfer and training", "partner"),
]


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    table = "engagements"
    columns: list[sa.Column[Any]] = [
        sa.Column(
            "owner", _enum("owner", "partner", "client"), server_default="partner", nullable=False
        ),
        sa.Column(
            "business_functions",
            postgresql.ARRAY(sa.String(length=32)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("destination_country", sa.String(length=2), nullable=True),
        sa.Column("site", sa.String(length=200), nullable=True),
        sa.Column("planned_headcount", sa.Integer(), nullable=True),
        sa.Column("contract_signed_on", sa.Date(), nullable=True),
        sa.Column(
            "planned_phases",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "actual_phases",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("transfer_option", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "transitions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("partner_entity_id", sa.Uuid(), nullable=True),
        sa.Column("client_entity_id", sa.Uuid(), nullable=True),
        sa.Column("transfer_plan_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transfer_plan_approved_by", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
    ]
    for new in columns:
        op.add_column(table, new, schema=SCHEMA)
    for column in ("partner_entity_id", "client_entity_id"):
        op.create_foreign_key(
            op.f(f"fk_engagements_{column}_legal_entities"),
            table,
            "legal_entities",
            [column],
            ["id"],
            source_schema=SCHEMA,
            referent_schema=SCHEMA,
        )

    op.create_table(
        "transfer_plan_items",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column(
            "scope",
            _enum(
                "transferscope",
                "employment_contracts",
                "facility_leases",
                "it_infrastructure",
                "process_documentation",
                "hr_payroll_systems",
                "vendor_contracts",
                "knowledge_transfer",
                "other",
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner", _enum("owner", "partner", "client"), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            _enum("itemstatus", "todo", "in_progress", "done", "not_applicable"),
            nullable=False,
        ),
        sa.Column("notes", sa.String(length=4000), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            [f"{SCHEMA}.engagements.id"],
            name=op.f("fk_transfer_plan_items_engagement_id_engagements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_plan_items")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_engagements_transfer_plan_items_engagement_id"),
        "transfer_plan_items",
        ["engagement_id"],
        schema=SCHEMA,
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        _timestamp("at"),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("reason", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            [f"{SCHEMA}.engagements.id"],
            name=op.f("fk_audit_events_engagement_id_engagements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_engagements_audit_events_engagement_id"),
        "audit_events",
        ["engagement_id"],
        schema=SCHEMA,
    )

    # Stored answers hold tenant data, but only the principal that sent the key reads them.
    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("principal", "key", name=op.f("pk_idempotency_keys")),
        schema=SCHEMA,
    )

    for part in PART_TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{part} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {SCHEMA}.{part} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {SCHEMA}.{part}"
            f" USING ({ALL_TENANTS} OR {OF_A_VISIBLE_ENGAGEMENT})"
        )

    # Engagements that exist already: the migration runs as the owner, whom FORCE binds too.
    op.execute("SELECT set_config('handover.all_tenants', 'on', true)")
    connection = op.get_bind()
    connection.execute(
        sa.text(
            "UPDATE engagements.engagements SET"
            " transitions = (CASE delivery_model WHEN 'bot' THEN :bot WHEN 'bto' THEN :bto"
            " ELSE :hybrid END)::jsonb,"
            " owner = CASE phase WHEN 'transferred' THEN 'client' ELSE 'partner' END,"
            " actual_phases = jsonb_build_object(phase,"
            " jsonb_build_object('start', to_char(created_at, 'YYYY-MM-DD'), 'end', NULL))"
        ),
        {"bot": BOT, "bto": BTO, "hybrid": HYBRID},
    )
    for scope, title, owner in STANDARD_SCOPE:
        connection.execute(
            sa.text(
                "INSERT INTO engagements.transfer_plan_items"
                " (engagement_id, scope, title, owner, status)"
                " SELECT id, :scope, :title, :owner, 'todo' FROM engagements.engagements"
            ),
            {"scope": scope, "title": title, "owner": owner},
        )


def downgrade() -> None:
    for part in PART_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {SCHEMA}.{part}")
    op.drop_table("idempotency_keys", schema=SCHEMA)
    op.drop_table("audit_events", schema=SCHEMA)
    op.drop_table("transfer_plan_items", schema=SCHEMA)
    for column in ("partner_entity_id", "client_entity_id"):
        op.drop_constraint(
            op.f(f"fk_engagements_{column}_legal_entities"), "engagements", schema=SCHEMA
        )
    for column in (
        "version",
        "transfer_plan_approved_by",
        "transfer_plan_approved_at",
        "client_entity_id",
        "partner_entity_id",
        "transitions",
        "transfer_option",
        "actual_phases",
        "planned_phases",
        "contract_signed_on",
        "planned_headcount",
        "site",
        "destination_country",
        "business_functions",
        "owner",
    ):
        op.drop_column("engagements", column, schema=SCHEMA)
