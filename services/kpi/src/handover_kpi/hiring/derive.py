"""Derived metrics: what talent's facts say about an engagement, month by month.

Every derived value is a function of the stored facts alone, recomputed in full for the
engagement whenever a fact that feeds it arrives, and written as ordinary data points (source
`talent`, no dimensions, at the first instant of the UTC month) through `upsert_points`: a
value that did not change is left alone, a changed one becomes a revision, and a month left
with no value (its only hire was taken back) loses its point. So facts of different aggregates
may arrive in any order and the points converge on the same values.

The formulas, per calendar month M (UTC):
- time_to_hire: the mean, over hires with `hired_at` in M whose requisition's opening was told
  and that were not taken back, of days from the requisition's `opened_at` to `hired_at`.
- offer_acceptance_rate: 100 x offers accepted / offers decided, by `decided_at` in M.
- onboarding_time: the mean, over onboardings completed in M, of days from `start_date` to
  `completed_on`.
- head_count: the last head count told with `as_of` in M.
- H0 and H1: the head count at the start and at the end of M: the last reading before M's
  first instant, and the last reading before the next month's first instant.
- attrition_rate: 100 x leavers in M / ((H0 + H1) / 2); defined once both are known and their
  mean is above zero.
- retention_rate: 100 x (H0 - L) / H0, where L counts the leavers in M who were on the team at
  its start (those whose hire started in M are left out); defined once H0 is known and above
  zero. Months run from the first reading's to the last reading's or last leaver's.
"""

from bisect import bisect_left
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from handover_kpi.hiring.repository import HiringRepository
from handover_kpi.points.store import PointIn, drop_points_except, upsert_points

SOURCE = "talent"

TIME_TO_HIRE = "time_to_hire"
OFFER_ACCEPTANCE_RATE = "offer_acceptance_rate"
ONBOARDING_TIME = "onboarding_time"
HEAD_COUNT = "head_count"
RETENTION_RATE = "retention_rate"
ATTRITION_RATE = "attrition_rate"

Series = list[tuple[date, float]]


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def instant(month: date) -> datetime:
    return datetime.combine(month, time(), tzinfo=UTC)


def headcount_by_month(readings: Sequence[tuple[datetime, int]]) -> Series:
    last: dict[date, float] = {}
    for as_of, headcount in sorted(readings):
        last[month_start(as_of.astimezone(UTC).date())] = float(headcount)
    return sorted(last.items())


def _reading_before(readings: Sequence[tuple[datetime, int]], moment: datetime) -> int | None:
    """The last head count told before `moment`; `readings` are in time order."""
    index = bisect_left(readings, moment, key=lambda reading: reading[0])
    return readings[index - 1][1] if index else None


def retention_and_attrition(
    readings: Sequence[tuple[datetime, int]], leavers: Sequence[tuple[date, date | None]]
) -> tuple[Series, Series]:
    """Retention and attrition per month, as the module's docstring defines them."""
    readings = sorted(readings)
    if not readings:
        return [], []
    first = month_start(readings[0][0].astimezone(UTC).date())
    ends = [readings[-1][0].astimezone(UTC).date(), *(day for day, _ in leavers)]
    last = month_start(max(ends))
    retention: Series = []
    attrition: Series = []
    month = first
    while month <= last:
        following = next_month(month)
        h0 = _reading_before(readings, instant(month))
        h1 = _reading_before(readings, instant(following))
        left = [started for day, started in leavers if month <= day < following]
        if h0 is not None and h1 is not None and h0 + h1 > 0:
            attrition.append((month, 100.0 * len(left) / ((h0 + h1) / 2)))
        if h0:
            stayed_from_start = [s for s in left if s is None or not month <= s < following]
            retention.append((month, 100.0 * max(h0 - len(stayed_from_start), 0) / h0))
        month = following
    return retention, attrition


class Derivations:
    """Recomputes one engagement's derived metrics from its stored facts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.facts = HiringRepository(session)

    async def time_to_hire(self, engagement_id: UUID) -> None:
        await self._write(engagement_id, {TIME_TO_HIRE: self.facts.time_to_hire})

    async def offer_acceptance(self, engagement_id: UUID) -> None:
        await self._write(engagement_id, {OFFER_ACCEPTANCE_RATE: self.facts.offer_acceptance})

    async def onboarding_time(self, engagement_id: UUID) -> None:
        await self._write(engagement_id, {ONBOARDING_TIME: self.facts.onboarding_time})

    async def team(self, engagement_id: UUID) -> None:
        """Head count, retention and attrition: they read the same facts."""
        readings = await self.facts.headcount_readings(engagement_id)
        retention, attrition = retention_and_attrition(
            readings, await self.facts.terminations(engagement_id)
        )
        series = {
            HEAD_COUNT: headcount_by_month(readings),
            RETENTION_RATE: retention,
            ATTRITION_RATE: attrition,
        }
        await self._store(engagement_id, series)

    async def _write(
        self, engagement_id: UUID, queries: dict[str, Callable[[UUID], Awaitable[Series]]]
    ) -> None:
        await self._store(
            engagement_id, {key: await query(engagement_id) for key, query in queries.items()}
        )

    async def _store(self, engagement_id: UUID, series: dict[str, Series]) -> None:
        parties = await self.facts.parties(engagement_id)
        if parties is None:
            return
        client_id, partner_id = parties
        points = [
            PointIn(
                engagement_id=engagement_id,
                client_id=client_id,
                partner_id=partner_id,
                metric_key=key,
                at=instant(month),
                value=value,
                dimensions={},
                source=SOURCE,
            )
            for key, values in series.items()
            for month, value in values
        ]
        if points:
            await upsert_points(self.session, points)
        # A hire taken back can leave a month with nothing to measure.
        await drop_points_except(
            self.session,
            engagement_id,
            SOURCE,
            {key: [instant(month) for month, _ in values] for key, values in series.items()},
        )
