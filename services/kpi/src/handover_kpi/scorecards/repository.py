from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from handover_kpi.metrics.models import Metric
from handover_kpi.points.store import latest_values


@dataclass(frozen=True)
class Reading:
    at: datetime
    value: float


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
        points = await latest_values(self.session, engagement_id, keys, count=count)
        return {
            key: [Reading(at=point.at, value=point.value) for point in values]
            for key, values in points.items()
        }
