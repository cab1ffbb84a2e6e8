from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from handover_kpi.metrics.schemas import MetricAggregation
from handover_kpi.series.schemas import Granularity

# `ratio` points hold the ratio itself, with no numerator or denominator: periods average them.
_COMBINE = {
    MetricAggregation.SUM: "sum(value)",
    MetricAggregation.AVG: "avg(value)",
    MetricAggregation.RATIO: "avg(value)",
    MetricAggregation.MIN: "min(value)",
    MetricAggregation.MAX: "max(value)",
    MetricAggregation.LAST: "(array_agg(value ORDER BY at DESC))[1]",
}
# Whole statements, one per aggregation, so no SQL is ever assembled from input.
_SERIES = {
    aggregation: text(
        "SELECT engagement_id, date_trunc(:granularity, at, 'UTC') AS period_start, "  # noqa: S608 - a fixed expression per aggregation
        f"{combine} AS value, count(*) AS count "
        "FROM kpi.data_points "
        "WHERE engagement_id = ANY(:engagement_ids) AND metric_key = :metric_key "
        "AND at >= :at_from AND at < :at_to AND dimensions @> CAST(:dimensions AS jsonb) "
        "GROUP BY engagement_id, period_start ORDER BY engagement_id, period_start"
    )
    for aggregation, combine in _COMBINE.items()
}


@dataclass(frozen=True)
class Period:
    engagement_id: UUID
    start: datetime
    value: float
    count: int


class SeriesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def periods(
        self,
        metric_key: str,
        aggregation: MetricAggregation,
        engagement_ids: list[UUID],
        granularity: Granularity,
        at_from: datetime,
        at_to: datetime,
        dimensions: str,
    ) -> list[Period]:
        rows = await self.session.execute(
            _SERIES[aggregation],
            {
                "granularity": granularity.value,
                "engagement_ids": engagement_ids,
                "metric_key": metric_key,
                "at_from": at_from,
                "at_to": at_to,
                "dimensions": dimensions,
            },
        )
        return [
            Period(
                engagement_id=row.engagement_id,
                start=row.period_start,
                value=float(row.value),
                count=int(row[3]),
            )
            for row in rows
        ]
