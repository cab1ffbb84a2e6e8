from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from handover_kpi.metrics.schemas import MetricDirection, MetricUnit
from handover_kpi.targets.schemas import TargetSource
from handover_shared.kpi import Comparator


@dataclass(frozen=True)
class Reading:
    at: datetime
    value: float


@dataclass(frozen=True)
class ActiveTarget:
    """A target that applies, with its metric as the catalog describes it (None for a metric
    not in the catalog) and the metric's latest engagement-wide readings, newest first."""

    id: UUID
    metric_key: str
    source: TargetSource
    comparator: Comparator
    threshold: float
    at_risk_margin: float
    metric_name: str | None
    unit: MetricUnit | None
    direction: MetricDirection | None
    readings: list[Reading]


# Per target, a backward walk of the natural-key index (engagement, metric, at) that stops
# after `$3` engagement-wide points: the cost does not grow with the metric's history. The
# index includes `value`, so the points' rows are not read at all.
_ACTIVE = """
    SELECT target.id, target.metric_key, target.source, target.comparator, target.threshold,
        target.at_risk_margin, metric.name, metric.unit, metric.direction,
        latest.ats, latest.vals
    FROM kpi.targets AS target
    LEFT JOIN kpi.metrics AS metric ON metric.key = target.metric_key
    CROSS JOIN LATERAL (
        SELECT array_agg(point.at ORDER BY point.at DESC) AS ats,
            array_agg(point.value ORDER BY point.at DESC) AS vals
        FROM (
            SELECT at, value FROM kpi.data_points
            WHERE engagement_id = target.engagement_id AND metric_key = target.metric_key
                AND dimensions = '{}'::jsonb
            ORDER BY at DESC
            LIMIT $3
        ) AS point
    ) AS latest
    WHERE target.engagement_id = $1 AND target.effective_from <= $2
        AND (target.effective_to IS NULL OR target.effective_to > $2)
    ORDER BY target.metric_key, target.id
"""


class ScorecardRows:
    """What a scorecard is drawn from, in one statement on the driver's connection (see
    `handover_kit.db.Database.raw`)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def active(self, engagement_id: UUID, at: datetime, count: int = 2) -> list[ActiveTarget]:
        """The engagement's targets that apply at `at`, by metric, then oldest first; each with
        its metric's `count` latest values: the latest is judged, the one before it gives the
        trend."""
        return [
            ActiveTarget(
                id=row["id"],
                metric_key=row["metric_key"],
                source=TargetSource(row["source"]),
                comparator=Comparator(row["comparator"]),
                threshold=row["threshold"],
                at_risk_margin=row["at_risk_margin"],
                metric_name=row["name"],
                unit=None if row["unit"] is None else MetricUnit(row["unit"]),
                direction=None if row["direction"] is None else MetricDirection(row["direction"]),
                readings=[
                    Reading(at=point_at, value=value)
                    for point_at, value in zip(row["ats"] or (), row["vals"] or (), strict=True)
                ],
            )
            for row in await self.connection.fetch(_ACTIVE, engagement_id, at, count)
        ]
