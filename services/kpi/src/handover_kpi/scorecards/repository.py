from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from handover_kpi.metrics.models import Metric


@dataclass(frozen=True)
class Reading:
    at: datetime
    value: float


# Per metric, a backward walk of the natural-key index (engagement, metric, at) that stops
# after `count` engagement-wide points: the cost does not grow with the metric's history. The
# index includes `value`, so the points' rows are not read at all.
_LATEST = text(
    """
    SELECT keys.metric_key, point.at, point.value
    FROM unnest(CAST(:keys AS text[])) AS keys (metric_key)
    CROSS JOIN LATERAL (
        SELECT at, value FROM kpi.data_points
        WHERE engagement_id = :engagement_id AND metric_key = keys.metric_key
            AND dimensions = '{}'::jsonb
        ORDER BY at DESC
        LIMIT :count
    ) AS point
    ORDER BY keys.metric_key, point.at DESC
    """
)


class ScorecardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def metrics(self, keys: Sequence[str]) -> dict[str, Metric]:
        statement = select(Metric).where(col(Metric.key).in_(keys))
        return {metric.key: metric for metric in (await self.session.scalars(statement)).all()}

    async def latest(
        self, engagement_id: UUID, keys: Sequence[str], count: int = 2
    ) -> dict[str, list[Reading]]:
        """Per metric, its `count` latest engagement-wide values (points without dimensions),
        newest first: the latest is judged, the one before it gives the trend."""
        if not keys:
            return {}
        rows = await self.session.execute(
            _LATEST, {"engagement_id": engagement_id, "keys": list(keys), "count": count}
        )
        latest: dict[str, list[Reading]] = {}
        for metric_key, at, value in rows:
            latest.setdefault(metric_key, []).append(Reading(at=at, value=value))
        return latest
