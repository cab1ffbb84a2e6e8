"""Requisitions carry their engagement's parties; row-level security on them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "talent"
ALL_TENANTS = "current_setting('handover.all_tenants', true) = 'on'"
TENANT = "NULLIF(current_setting('handover.tenant', true), '')::uuid"


def upgrade() -> None:
    # NOT NULL with no default: requisitions from before tenancy cannot be attributed here,
    # and none exist outside development, so the migration refuses rather than guess.
    op.add_column("requisitions", sa.Column("client_id", sa.Uuid(), nullable=False), schema=SCHEMA)
    op.add_column("requisitions", sa.Column("partner_id", sa.Uuid(), nullable=False), schema=SCHEMA)
    op.execute(f"ALTER TABLE {SCHEMA}.requisitions ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {SCHEMA}.requisitions FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {SCHEMA}.requisitions USING ({ALL_TENANTS}"
        f" OR client_id = {TENANT} OR partner_id = {TENANT})"
    )


def downgrade() -> None:
    op.execute(f"DROP POLICY tenant_isolation ON {SCHEMA}.requisitions")
    op.execute(f"ALTER TABLE {SCHEMA}.requisitions NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {SCHEMA}.requisitions DISABLE ROW LEVEL SECURITY")
    op.drop_column("requisitions", "partner_id", schema=SCHEMA)
    op.drop_column("requisitions", "client_id", schema=SCHEMA)
