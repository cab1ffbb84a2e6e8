"""Organizations and engagements.

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

SCHEMA = "engagements"


def _timestamps() -> list[sa.Column[object]]:
    return [
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


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "client",
                "partner",
                name="organizationkind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("name", name=op.f("uq_organizations_name")),
        schema=SCHEMA,
    )
    op.create_table(
        "engagements",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column(
            "delivery_model",
            sa.Enum(
                "bot",
                "bto",
                "hybrid",
                name="deliverymodel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "phase",
            sa.Enum(
                "build",
                "operate",
                "transfer",
                "transferred",
                "managed",
                "terminated",
                name="phase",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["client_id"],
            [f"{SCHEMA}.organizations.id"],
            name=op.f("fk_engagements_client_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            [f"{SCHEMA}.organizations.id"],
            name=op.f("fk_engagements_partner_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagements")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_engagements_engagements_client_id"), "engagements", ["client_id"], schema=SCHEMA
    )
    op.create_index(
        op.f("ix_engagements_engagements_partner_id"), "engagements", ["partner_id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("engagements", schema=SCHEMA)
    op.drop_table("organizations", schema=SCHEMA)
