from datetime import datetime
from uuid import UUID

from handover_kit.errors import UnprocessableContent
from handover_kpi.errors import UnknownMetric
from handover_kpi.points.store import dimensions_json
from handover_kpi.series.repository import SeriesRows
from handover_kpi.series.schemas import Granularity, Series, SeriesPoint, SeriesSet

DAYS_PER_PERIOD = {
    Granularity.DAY: 1,
    Granularity.WEEK: 7,
    Granularity.MONTH: 28,
    Granularity.QUARTER: 90,
}
MAX_PERIODS = 5000
"""Per series: a daily series over about thirteen years, a monthly one over any range."""


class SeriesService:
    def __init__(self, rows: SeriesRows) -> None:
        self.rows = rows

    async def read(
        self,
        metric_keys: list[str],
        engagement_ids: list[UUID],
        granularity: Granularity,
        at_from: datetime,
        at_to: datetime,
        dimensions: dict[str, str],
    ) -> SeriesSet:
        if at_to <= at_from:
            raise UnprocessableContent("`to` must be after `from`.")
        periods = (at_to - at_from).days / DAYS_PER_PERIOD[granularity]
        if periods > MAX_PERIODS:
            raise UnprocessableContent(
                f"The range holds more than {MAX_PERIODS} periods of a {granularity.value}: "
                "narrow it or choose a coarser granularity."
            )
        result: list[Series] = []
        for key in dict.fromkeys(metric_keys):
            metric = await self.rows.metric(key)
            if metric is None:
                raise UnknownMetric(f"No metric {key!r} in the catalog.")
            periods_of = await self.rows.periods(
                key,
                metric.aggregation,
                list(dict.fromkeys(engagement_ids)),
                granularity,
                at_from,
                at_to,
                dimensions_json(dimensions),
            )
            by_engagement: dict[UUID, list[SeriesPoint]] = {}
            for period in periods_of:
                by_engagement.setdefault(period.engagement_id, []).append(
                    SeriesPoint(period_start=period.start, value=period.value, count=period.count)
                )
            result.extend(
                Series(
                    engagement_id=engagement_id,
                    metric_key=key,
                    unit=metric.unit,
                    aggregation=metric.aggregation,
                    points=by_engagement.get(engagement_id, []),
                )
                for engagement_id in dict.fromkeys(engagement_ids)
                if engagement_id in by_engagement
            )
        return SeriesSet(granularity=granularity, series=result)
