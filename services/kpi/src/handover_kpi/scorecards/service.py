from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from handover_kpi.metrics.models import Metric
from handover_kpi.scorecards.repository import Reading, ScorecardRepository
from handover_kpi.scorecards.schemas import Scorecard, ScorecardLine, Trend
from handover_kpi.targets.models import Target
from handover_kpi.targets.repository import TargetRepository
from handover_shared.kpi import Comparator, MetricStatus, MetricVerdict, TransferReadiness

_HOLDS = {
    Comparator.GTE: lambda value, threshold: value >= threshold,
    Comparator.GT: lambda value, threshold: value > threshold,
    Comparator.LTE: lambda value, threshold: value <= threshold,
    Comparator.LT: lambda value, threshold: value < threshold,
    Comparator.EQ: lambda value, threshold: value == threshold,
}


@dataclass(frozen=True)
class Judgement:
    status: MetricStatus
    reason: str | None


def judge(
    metric_key: str,
    value: float | None,
    comparator: Comparator,
    threshold: float,
    at_risk_margin: float = 0.0,
) -> Judgement:
    """`met` if `value <comparator> threshold`; `at_risk` if it misses by no more than the
    margin (a positive one); `missed` otherwise; `no_data` without a value."""
    if value is None:
        return Judgement(MetricStatus.NO_DATA, f"{metric_key} has no data yet.")
    if _HOLDS[comparator](value, threshold):
        return Judgement(MetricStatus.MET, None)
    against = f"{metric_key} is {value:g}, and the target is {comparator.value} {threshold:g}"
    if at_risk_margin > 0 and abs(value - threshold) <= at_risk_margin:
        return Judgement(
            MetricStatus.AT_RISK, f"{against}; within the at-risk margin of {at_risk_margin:g}."
        )
    return Judgement(MetricStatus.MISSED, f"{against}.")


def trend(readings: Sequence[Reading]) -> Trend | None:
    if len(readings) < 2:
        return None
    latest, previous = readings[0].value, readings[1].value
    if latest > previous:
        return Trend.UP
    return Trend.DOWN if latest < previous else Trend.FLAT


class ScorecardService:
    def __init__(self, targets: TargetRepository, readings: ScorecardRepository) -> None:
        self.targets = targets
        self.readings = readings

    async def scorecard(self, engagement_id: UUID, at: datetime | None = None) -> Scorecard:
        at = at or datetime.now(UTC)
        targets = await self.targets.active(engagement_id, at)
        keys = sorted({target.metric_key for target in targets})
        metrics = await self.readings.metrics(keys)
        readings = await self.readings.latest(engagement_id, keys)
        return Scorecard(
            engagement_id=engagement_id,
            evaluated_at=at,
            lines=[
                _line(target, metrics.get(target.metric_key), readings.get(target.metric_key, []))
                for target in targets
            ],
        )

    async def transfer_readiness(self, engagement_id: UUID) -> TransferReadiness:
        """Ready only if every active target is met; an engagement without targets has nothing
        that holds it back."""
        scorecard = await self.scorecard(engagement_id)
        verdicts = [
            MetricVerdict(
                metric_key=line.metric_key,
                status=line.status,
                value=line.value,
                target=line.threshold,
                comparator=line.comparator,
                reason=line.reason,
            )
            for line in scorecard.lines
        ]
        return TransferReadiness(
            engagement_id=engagement_id,
            ready=all(verdict.status is MetricStatus.MET for verdict in verdicts),
            evaluated_at=scorecard.evaluated_at,
            metrics=verdicts,
        )


def _line(target: Target, metric: Metric | None, readings: Sequence[Reading]) -> ScorecardLine:
    latest = readings[0] if readings else None
    value = latest.value if latest else None
    judgement = judge(
        target.metric_key, value, target.comparator, target.threshold, target.at_risk_margin
    )
    return ScorecardLine(
        metric_key=target.metric_key,
        metric_name=metric.name if metric else None,
        unit=metric.unit if metric else None,
        direction=metric.direction if metric else None,
        target_id=target.id,
        source=target.source,
        comparator=target.comparator,
        threshold=target.threshold,
        at_risk_margin=target.at_risk_margin,
        value=value,
        value_at=latest.at if latest else None,
        previous_value=readings[1].value if len(readings) > 1 else None,
        trend=trend(readings),
        status=judgement.status,
        reason=judgement.reason,
    )
