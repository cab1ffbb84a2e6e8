import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from handover_kit.pagination import PageRequest, paginate
from handover_kpi.metrics.models import Metric
from handover_kpi.points.models import DataPoint, DataPointRevision


@dataclass(frozen=True)
class PointFilter:
    engagement_id: UUID | None = None
    metric_key: str | None = None
    at_from: datetime | None = None
    at_to: datetime | None = None


@dataclass(frozen=True)
class ChangePosition:
    """A place in the change feed: after the revision `seq` of the transaction `txid`."""

    txid: int
    seq: int


@dataclass(frozen=True)
class Change:
    position: ChangePosition
    point_id: UUID
    engagement_id: UUID
    metric_key: str
    at: datetime
    dimensions: dict[str, str]
    revision: int
    value: float
    source: str
    recorded_at: datetime


# Only transactions older than the oldest one still running are read: none of them can still
# commit, so a later pull finds every newer change after the cursor, however writes interleave.
_CHANGES = text(
    """
    SELECT revision.txid, revision.seq, revision.point_id, point.engagement_id,
        point.metric_key, point.at, point.dimensions, revision.revision, revision.value,
        revision.source, revision.recorded_at
    FROM kpi.data_point_revisions AS revision
    JOIN kpi.data_points AS point ON point.id = revision.point_id
    WHERE revision.txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
        AND (revision.txid, revision.seq) > (:txid, :seq)
        AND (CAST(:engagement_id AS uuid) IS NULL OR revision.engagement_id = :engagement_id)
    ORDER BY revision.txid, revision.seq
    LIMIT :limit
    """
)


class PointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def units(self) -> dict[str, str]:
        """The catalog's metric keys, each with its unit."""
        rows = await self.session.execute(select(Metric.key, Metric.unit))
        return {key: str(unit) for key, unit in rows}

    async def get(self, point_id: UUID) -> DataPoint | None:
        return await self.session.get(DataPoint, point_id)

    async def page(
        self, filters: PointFilter, page: PageRequest
    ) -> tuple[list[DataPoint], str | None]:
        return await paginate(
            self.session, filtered(filters), col(DataPoint.id), page, page.after_id()
        )

    async def revisions(
        self, point_id: UUID, page: PageRequest, after: int | None
    ) -> tuple[list[DataPointRevision], str | None]:
        statement = select(DataPointRevision).where(DataPointRevision.point_id == point_id)
        return await paginate(self.session, statement, col(DataPointRevision.revision), page, after)

    async def changes(
        self, after: ChangePosition, engagement_id: UUID | None, limit: int
    ) -> list[Change]:
        rows = await self.session.execute(
            _CHANGES,
            {
                "txid": after.txid,
                "seq": after.seq,
                "engagement_id": engagement_id,
                "limit": limit,
            },
        )
        return [
            Change(
                position=ChangePosition(txid=row.txid, seq=row.seq),
                point_id=row.point_id,
                engagement_id=row.engagement_id,
                metric_key=row.metric_key,
                at=row.at,
                dimensions=_dimensions(row.dimensions),
                revision=row.revision,
                value=row.value,
                source=row.source,
                recorded_at=row.recorded_at,
            )
            for row in rows
        ]

    async def stream(self, filters: PointFilter) -> AsyncIterator[DataPoint]:
        """Every point the filters select, in id order, from a server-side cursor."""
        result = await self.session.stream_scalars(
            filtered(filters).order_by(col(DataPoint.id)).execution_options(yield_per=1000)
        )
        async for point in result:
            yield point


def filtered(filters: PointFilter) -> SelectOfScalar[DataPoint]:
    statement = select(DataPoint)
    if filters.engagement_id is not None:
        statement = statement.where(DataPoint.engagement_id == filters.engagement_id)
    if filters.metric_key is not None:
        statement = statement.where(DataPoint.metric_key == filters.metric_key)
    if filters.at_from is not None:
        statement = statement.where(col(DataPoint.at) >= filters.at_from)
    if filters.at_to is not None:
        statement = statement.where(col(DataPoint.at) < filters.at_to)
    return statement


def _dimensions(raw: Any) -> dict[str, str]:
    # Read through text(), jsonb arrives as its JSON text.
    if isinstance(raw, str):
        raw = json.loads(raw)
    return {str(key): str(value) for key, value in (raw or {}).items()}
