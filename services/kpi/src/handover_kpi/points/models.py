from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from handover_kit.db import id_field, timestamp_field
from handover_kpi.db import SCHEMA, Table
from handover_shared.kpi import METRIC_KEY_MAX_LENGTH

SOURCE_MAX_LENGTH = 100


class DataPoint(Table, table=True):
    """A metric's value for one engagement at one instant, optionally for one role, team or
    site. The natural key is (engagement_id, metric_key, at, dimensions); `revision` counts
    the values the point has had."""

    __tablename__ = "data_points"
    __table_args__ = (
        Index(
            "uq_data_points_natural_key",
            "engagement_id",
            "metric_key",
            "at",
            "dimensions",
            unique=True,
            postgresql_include=["value", "client_id", "partner_id"],
        ),
        CheckConstraint("jsonb_typeof(dimensions) = 'object'", name="dimensions_object"),
        CheckConstraint(
            "value <> 'NaN'::float8 AND value <> 'Infinity'::float8"
            " AND value <> '-Infinity'::float8",
            name="value_finite",
        ),
    )

    id: UUID = id_field()
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    metric_key: str = Field(max_length=METRIC_KEY_MAX_LENGTH, foreign_key=f"{SCHEMA}.metrics.key")
    at: datetime = Field(sa_type=DateTime(timezone=True))
    dimensions: dict[str, str] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    value: float = Field(sa_type=Double())
    source: str = Field(max_length=SOURCE_MAX_LENGTH)
    revision: int = Field(default=1, sa_column_kwargs={"server_default": text("1")})
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)


class DataPointRevision(Table, table=True):
    """One value a point had: its first, or a correction. Revisions are also the change feed,
    in the order (txid, seq): the writing transaction's id, then the order of writing."""

    __tablename__ = "data_point_revisions"
    __table_args__ = (
        UniqueConstraint("point_id", "revision", name="uq_data_point_revisions_point_id"),
        Index("ix_data_point_revisions_txid", "txid", "seq"),
    )

    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, Identity(always=True), primary_key=True),
    )
    txid: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger,
            nullable=False,
            server_default=text("(pg_current_xact_id()::text::bigint)"),
        ),
    )
    point_id: UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey(f"{SCHEMA}.data_points.id", ondelete="CASCADE"), nullable=False
        )
    )
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    revision: int
    value: float = Field(sa_type=Double())
    source: str = Field(max_length=SOURCE_MAX_LENGTH)
    recorded_at: datetime = timestamp_field()
