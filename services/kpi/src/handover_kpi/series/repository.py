from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from handover_kpi.metrics.schemas import MetricAggregation, MetricUnit
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
    aggregation: (
        "SELECT engagement_id, date_trunc($1, at, 'UTC') AS period_start, "  # noqa: S608 - a fixed expression per aggregation
        f"{combine} AS value, count(*) AS count "
        "FROM kpi.data_points "
        "WHERE engagement_id = ANY($2::uuid[]) AND metric_key = $3 "
        "AND at >= $4 AND at < $5 AND dimensions @> $6::jsonb "
        "GROUP BY engagement_id, period_start ORDER BY engagement_id, period_start"
    )
    for aggregation, combine in _COMBINE.items()
}
_METRIC = "SELECT unit, aggregation FROM kpi.metrics WHERE key = $1"


@dataclass(frozen=True)
class CatalogEntry:
    """What a series needs of its metric."""

    unit: MetricUnit
    aggregation: MetricAggregation


@dataclass(frozen=True)
class Period:
    engagement_id: UUID
    start: datetime
    value: float
    count: int


class SeriesRows:
    """Series on the driver's connection (see `handover_kit.db.Database.raw`): scripts that
    sync read them one request after another, so each round trip and each layer shows."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def metric(self, key: str) -> CatalogEntry | None:
        row = await self.connection.fetchrow(_METRIC, key)
        if row is None:
            return None
        return CatalogEntry(MetricUnit(row["unit"]), MetricAggregation(row["aggregation"]))

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
        rows = await self.connection.fetch(
            _SERIES[aggregation],
            granularity.value,
            engagement_ids,
            metric_key,
            at_from,
            at_to,
            dimensions,
        )
        return [
            Period(
                engagement_id=row["engagement_id"],
                start=row["period_start"],
                value=float(row["value"]),
                count=row["count"],
            )
            for row in rows
        ]
