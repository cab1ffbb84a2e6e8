"""A hire talent took back is kept with the moment it was reversed, and no longer counted.

Only a nullable column is added: the previous release keeps storing hires as it did.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "kpi"


def upgrade() -> None:
    op.add_column(
        "hires",
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("hires", "reversed_at", schema=SCHEMA)
