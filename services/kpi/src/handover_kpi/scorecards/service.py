from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from handover_kpi.scorecards.repository import ActiveTarget, Reading, ScorecardRows
from handover_kpi.scorecards.schemas import Scorecard, ScorecardLine, Trend
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
    def __init__(self, rows: ScorecardRows) -> None:
        self.rows = rows

    async def scorecard(self, engagement_id: UUID, at: datetime | None = None) -> Scorecard:
        at = at or datetime.now(UTC)
        return Scorecard(
            engagement_id=engagement_id,
            evaluated_at=at,
            lines=[_line(target) for target in await self.rows.active(engagement_id, at)],
        )

    async def transfer_readiness(self, engagement_id: UUID) -> TransferReadiness:
        """Ready only if every active target is met; an engagement without targets has nothing
        that holds it back."""
        at = datetime.now(UTC)
        verdicts = [_verdict(target) for target in await self.rows.active(engagement_id, at)]
        return TransferReadiness(
            engagement_id=engagement_id,
            ready=all(verdict.status is MetricStatus.MET for verdict in verdicts),
            evaluated_at=at,
            metrics=verdicts,
        )


def _judge(target: ActiveTarget) -> Judgement:
    value = target.readings[0].value if target.readings else None
    return judge(
        target.metric_key, value, target.comparator, target.threshold, target.at_risk_margin
    )


def _verdict(target: ActiveTarget) -> MetricVerdict:
    judgement = _judge(target)
    return MetricVerdict(
        metric_key=target.metric_key,
        status=judgement.status,
        value=target.readings[0].value if target.readings else None,
        target=target.threshold,
        comparator=target.comparator,
        reason=judgement.reason,
    )


def _line(target: ActiveTarget) -> ScorecardLine:
    readings = target.readings
    latest = readings[0] if readings else None
    judgement = _judge(target)
    return ScorecardLine(
        metric_key=target.metric_key,
        metric_name=target.metric_name,
        unit=target.unit,
        direction=target.direction,
        target_id=target.id,
        source=target.source,
        comparator=target.comparator,
        threshold=target.threshold,
        at_risk_margin=target.at_risk_margin,
        value=latest.value if latest else None,
        value_at=latest.at if latest else None,
        previous_value=readings[1].value if len(readings) > 1 else None,
        trend=trend(readings),
        status=judgement.status,
        reason=judgement.reason,
    )
