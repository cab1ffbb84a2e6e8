"""Memberships and API keys; row-level security on every tenant table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "engagements"

# Which organization's rows each table holds. A transaction sees the rows of the tenant it
# declares (handover.tenant), or all of them if it declares handover.all_tenants; a
# transaction that declares nothing sees none. FORCE applies the policy to the owner too:
# the service connects as the role that owns its tables.
TENANT_COLUMNS = {
    "organizations": ["id"],
    "engagements": ["client_id", "partner_id"],
    "memberships": ["organization_id"],
    "api_keys": ["organization_id"],
}
ALL_TENANTS = "current_setting('handover.all_tenants', true) = 'on'"
TENANT = "NULLIF(current_setting('handover.tenant', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "memberships",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "viewer",
                "member",
                "admin",
                "platform_admin",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(role = 'platform_admin') = (organization_id IS NULL)",
            name=op.f("ck_memberships_platform_admin_has_no_org"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            [f"{SCHEMA}.organizations.id"],
            name=op.f("fk_memberships_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_memberships_issuer")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_engagements_memberships_organization_id"),
        "memberships",
        ["organization_id"],
        schema=SCHEMA,
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            [f"{SCHEMA}.organizations.id"],
            name=op.f("fk_api_keys_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_api_keys_secret_sha256")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_engagements_api_keys_organization_id"),
        "api_keys",
        ["organization_id"],
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
        op.execute(f"ALTER TABLE {SCHEMA}.{table} DISABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} NO FORCE ROW LEVEL SECURITY")
    op.drop_table("api_keys", schema=SCHEMA)
    op.drop_table("memberships", schema=SCHEMA)
