"""Writing data points, for every way they arrive: ingestion endpoints and derived metrics.

A point's natural key is (engagement_id, metric_key, at, dimensions). Writing a point whose
key is new inserts it (revision 1); writing a known key with another value replaces the value
and adds a revision; writing a known key with the same value changes nothing. Points reach the
table through a temporary staging table filled by COPY, then one set-based upsert that logs a
revision for every insert and correction, so a batch of any size costs one statement.
"""

import json
from collections.abc import AsyncIterable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from handover_kpi.points.models import DataPoint

STAGING = "point_staging"
STAGING_COLUMNS = (
    "line",
    "engagement_id",
    "client_id",
    "partner_id",
    "metric_key",
    "at",
    "dimensions",
    "value",
    "source",
)
StagedRow = tuple[int, UUID, UUID, UUID, str, datetime, str, float, str]


class PointIn(BaseModel):
    """A point to write, already checked: the engagement is known, with its client and
    partner; the metric is in the catalog; the value is finite."""

    model_config = ConfigDict(frozen=True)

    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    metric_key: str
    at: datetime
    value: float
    dimensions: dict[str, str] = Field(default_factory=dict)
    source: str


@dataclass(frozen=True)
class UpsertCounts:
    """`accepted`: new points; `replaced`: corrected values; `unchanged`: points sent again
    with the value they had, or superseded by a later line of the same batch."""

    accepted: int
    replaced: int
    unchanged: int


def dimensions_json(dimensions: dict[str, str]) -> str:
    return json.dumps(dimensions, sort_keys=True, separators=(",", ":"))


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, in the session's transaction, for COPY."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return cast(asyncpg.Connection, raw.driver_connection)


async def open_staging(
    session: AsyncSession, *, statement_timeout_ms: int | None = None
) -> asyncpg.Connection:
    """An empty staging table for this transaction; dropped when it ends. A statement timeout
    given holds for the rest of the transaction."""
    if statement_timeout_ms is not None:
        await session.execute(
            text("SELECT set_config('statement_timeout', :timeout, true)"),
            {"timeout": str(statement_timeout_ms)},
        )
    connection = await driver_connection(session)
    await connection.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} ("
        " line bigint NOT NULL, engagement_id uuid NOT NULL, client_id uuid NOT NULL,"
        " partner_id uuid NOT NULL, metric_key text NOT NULL, at timestamptz NOT NULL,"
        " dimensions jsonb NOT NULL, value float8 NOT NULL, source text NOT NULL"
        ") ON COMMIT DROP;"
        f" TRUNCATE {STAGING}"
    )
    return connection


async def stage(
    connection: asyncpg.Connection, rows: Iterable[StagedRow] | AsyncIterable[StagedRow]
) -> None:
    """COPY rows into the staging table as they come: nothing is held beyond one row."""
    await connection.copy_records_to_table(STAGING, records=rows, columns=STAGING_COLUMNS)


_MERGE = text(
    """
    WITH incoming AS (
        SELECT DISTINCT ON (engagement_id, metric_key, at, dimensions)
            engagement_id, client_id, partner_id, metric_key, at, dimensions, value, source
        FROM pg_temp.point_staging
        ORDER BY engagement_id, metric_key, at, dimensions, line DESC
    ),
    written AS (
        INSERT INTO kpi.data_points AS point
            (engagement_id, client_id, partner_id, metric_key, at, dimensions, value, source)
        SELECT engagement_id, client_id, partner_id, metric_key, at, dimensions, value, source
        FROM incoming
        ON CONFLICT (engagement_id, metric_key, at, dimensions) DO UPDATE
            SET value = excluded.value,
                source = excluded.source,
                revision = point.revision + 1,
                updated_at = now()
            WHERE point.value IS DISTINCT FROM excluded.value
        RETURNING point.id, point.engagement_id, point.client_id, point.partner_id,
            point.revision, point.value, point.source
    ),
    logged AS (
        INSERT INTO kpi.data_point_revisions
            (point_id, engagement_id, client_id, partner_id, revision, value, source)
        SELECT id, engagement_id, client_id, partner_id, revision, value, source FROM written
        RETURNING revision
    )
    SELECT
        count(*) FILTER (WHERE revision = 1) AS accepted,
        count(*) FILTER (WHERE revision > 1) AS replaced,
        (SELECT count(*) FROM pg_temp.point_staging) AS staged
    FROM logged
    """
)


async def merge_staged(session: AsyncSession) -> UpsertCounts:
    """Upsert what the staging table holds, in one statement, and empty it."""
    row = (await session.execute(_MERGE)).one()
    await session.execute(text(f"TRUNCATE pg_temp.{STAGING}"))
    accepted, replaced, staged = int(row.accepted), int(row.replaced), int(row.staged)
    return UpsertCounts(
        accepted=accepted, replaced=replaced, unchanged=staged - accepted - replaced
    )


async def upsert_points(session: AsyncSession, points: Sequence[PointIn]) -> UpsertCounts:
    """Write checked points by their natural key (engagement_id, metric_key, at, dimensions):
    a new key is inserted, a known key with another value is corrected with a revision kept, a
    known key with the same value is left as it is. Of two points with one key in `points`, the
    later wins. Runs in the session's transaction; the caller commits."""
    if not points:
        return UpsertCounts(accepted=0, replaced=0, unchanged=0)
    connection = await open_staging(session)
    await stage(
        connection,
        (
            (
                line,
                point.engagement_id,
                point.client_id,
                point.partner_id,
                point.metric_key,
                point.at,
                dimensions_json(point.dimensions),
                point.value,
                point.source,
            )
            for line, point in enumerate(points, start=1)
        ),
    )
    return await merge_staged(session)


_DROP_EXCEPT = text(
    """
    DELETE FROM kpi.data_points
    WHERE engagement_id = :engagement_id AND metric_key = ANY(:keys) AND source = :source
        AND dimensions = '{}'::jsonb
        AND (metric_key, at) NOT IN (
            SELECT * FROM unnest(CAST(:kept_keys AS text[]), CAST(:kept_ats AS timestamptz[]))
        )
    """
)


async def drop_points_except(
    session: AsyncSession,
    engagement_id: UUID,
    source: str,
    keep: dict[str, Sequence[datetime]],
) -> None:
    """Delete the engagement-wide points of `source` of the metrics `keep` names, at any
    instant but those it lists for them: a series recomputed in full has no value there."""
    kept = [(key, at) for key, instants in keep.items() for at in instants]
    await session.execute(
        _DROP_EXCEPT,
        {
            "engagement_id": engagement_id,
            "keys": list(keep),
            "source": source,
            "kept_keys": [key for key, _ in kept],
            "kept_ats": [at for _, at in kept],
        },
    )


_LATEST = text(
    """
    SELECT id FROM (
        SELECT id, row_number() OVER (PARTITION BY metric_key ORDER BY at DESC) AS position
        FROM kpi.data_points
        WHERE engagement_id = :engagement_id AND metric_key = ANY(:keys)
            AND dimensions = '{}'::jsonb
    ) AS ranked
    WHERE position <= :count
    """
)


async def latest_values(
    session: AsyncSession, engagement_id: UUID, metric_keys: Sequence[str], count: int = 1
) -> dict[str, list[DataPoint]]:
    """Per metric key that has any, the `count` latest engagement-wide points (no dimensions)
    of the engagement, newest first."""
    ids = (
        await session.scalars(
            _LATEST,
            {"engagement_id": engagement_id, "keys": list(metric_keys), "count": count},
        )
    ).all()
    if not ids:
        return {}
    rows = (
        await session.scalars(
            select(DataPoint)
            .where(col(DataPoint.id).in_(ids))
            .order_by(col(DataPoint.metric_key), col(DataPoint.at).desc())
        )
    ).all()
    latest: dict[str, list[DataPoint]] = {}
    for row in rows:
        latest.setdefault(row.metric_key, []).append(row)
    return latest
