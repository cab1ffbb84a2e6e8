"""The state of an application and of a hire, derived from their history alone.

Events are folded in the order they occurred at their source, not the order they arrived, so
any arrival order of the same events gives the same state. Ties on `occurred_at` are broken by
how far along the pipeline an event goes, then by its key: the fold is a function of the set.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from handover_shared.hiring_events import ApplicationStage

CREATED = "application.created"
STAGE_CHANGED = "application.stage_changed"
OFFER_CREATED = "offer.created"
OFFER_ACCEPTED = "offer.accepted"
OFFER_DECLINED = "offer.declined"
HIRED = "candidate.hired"
REJECTED = "candidate.rejected"
WITHDREW = "candidate.withdrew"
UNHIRED = "candidate.unhired"
ONBOARDED = "employee.onboarded"
TERMINATED = "employee.terminated"

EMPLOYEE_KINDS = frozenset({ONBOARDED, TERMINATED})

_STAGE_RANK = {
    ApplicationStage.SOURCED: 1,
    ApplicationStage.SCREENING: 2,
    ApplicationStage.INTERVIEW: 3,
    ApplicationStage.OFFER: 4,
    ApplicationStage.HIRED: 6,
    ApplicationStage.REJECTED: 7,
    ApplicationStage.WITHDRAWN: 7,
}
_KIND_RANK = {
    CREATED: 0,
    OFFER_CREATED: 4,
    OFFER_ACCEPTED: 5,
    OFFER_DECLINED: 5,
    HIRED: 6,
    REJECTED: 7,
    WITHDREW: 7,
    UNHIRED: 8,
    ONBOARDED: 9,
    TERMINATED: 10,
}


@dataclass(frozen=True)
class Entry:
    """One row of history, as the fold reads it."""

    kind: str
    occurred_at: datetime
    event_key: str
    stage: ApplicationStage | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def order(self) -> tuple[datetime, int, str]:
        if self.kind == STAGE_CHANGED and self.stage is not None:
            rank = _STAGE_RANK[self.stage]
        else:
            rank = _KIND_RANK.get(self.kind, 0)
        return (self.occurred_at, rank, self.event_key)


@dataclass(frozen=True)
class StagePeriod:
    stage: ApplicationStage
    entered_at: datetime
    left_at: datetime | None


@dataclass(frozen=True)
class ApplicationState:
    stage: ApplicationStage
    stage_entered_at: datetime
    periods: tuple[StagePeriod, ...]
    offer_made_at: datetime | None
    offer_decided_at: datetime | None
    offer_accepted: bool | None
    hired_at: datetime | None
    start_date: date | None


def _target(entry: Entry) -> ApplicationStage | None:
    match entry.kind:
        case "application.created" | "application.stage_changed":
            return entry.stage
        case "offer.created" | "offer.accepted" | "offer.declined":
            return ApplicationStage.OFFER
        case "candidate.hired":
            return ApplicationStage.HIRED
        case "candidate.rejected":
            return ApplicationStage.REJECTED
        case "candidate.withdrew":
            return ApplicationStage.WITHDRAWN
    return None


def _earliest(current: datetime | None, moment: datetime) -> datetime:
    return moment if current is None or moment < current else current


def derive_application(entries: Iterable[Entry]) -> ApplicationState | None:
    """The application's state after its history, or None if nothing placed it in a stage.

    A hire stands until the source takes it back (`candidate.unhired`): later stage changes
    do not undo it. Everything else follows the latest-occurred event. A hire implies an
    accepted offer when the source sent none, so offer acceptance counts every hire.
    """
    periods: list[StagePeriod] = []
    stage_before_hire: ApplicationStage | None = None
    offer_made_at: datetime | None = None
    offer_decided_at: datetime | None = None
    offer_accepted: bool | None = None
    hired_at: datetime | None = None
    start_date: date | None = None

    def move(stage: ApplicationStage, moment: datetime) -> None:
        if periods and periods[-1].stage == stage:
            return
        if periods:
            last = periods[-1]
            periods[-1] = StagePeriod(last.stage, last.entered_at, moment)
        periods.append(StagePeriod(stage, moment, None))

    for entry in sorted(entries, key=Entry.order):
        moment = entry.occurred_at
        current = periods[-1].stage if periods else None
        if entry.kind == UNHIRED:
            if current is ApplicationStage.HIRED:
                move(stage_before_hire or ApplicationStage.OFFER, moment)
                hired_at = None
            continue
        if entry.kind in (OFFER_CREATED, OFFER_ACCEPTED, OFFER_DECLINED, HIRED):
            offer_made_at = _earliest(offer_made_at, moment)
        if entry.kind in (OFFER_ACCEPTED, OFFER_DECLINED):
            offer_decided_at = moment
            offer_accepted = entry.kind == OFFER_ACCEPTED
        if entry.kind in (OFFER_ACCEPTED, OFFER_CREATED, HIRED) and entry.details.get("start_date"):
            start_date = date.fromisoformat(entry.details["start_date"])
        target = _target(entry)
        if target is None:
            continue
        if current is ApplicationStage.HIRED:
            continue
        if target is ApplicationStage.HIRED:
            stage_before_hire = current
            hired_at = moment
            if offer_accepted is not True:
                offer_decided_at = moment
                offer_accepted = True
        move(target, moment)

    if not periods:
        return None
    return ApplicationState(
        stage=periods[-1].stage,
        stage_entered_at=periods[-1].entered_at,
        periods=tuple(periods),
        offer_made_at=offer_made_at,
        offer_decided_at=offer_decided_at,
        offer_accepted=offer_accepted,
        hired_at=hired_at,
        start_date=start_date,
    )


@dataclass(frozen=True)
class EmploymentState:
    onboarded_on: date | None
    terminated_on: date | None
    voluntary: bool | None
    reason: str | None


def derive_employment(entries: Iterable[Entry]) -> EmploymentState:
    """What the source said of the person as an employee: the latest-occurred of each."""
    onboarded_on: date | None = None
    terminated: Entry | None = None
    for entry in sorted(entries, key=Entry.order):
        if entry.kind == ONBOARDED:
            onboarded_on = date.fromisoformat(entry.details["completed_on"])
        elif entry.kind == TERMINATED:
            terminated = entry
    if terminated is None:
        return EmploymentState(onboarded_on, None, None, None)
    return EmploymentState(
        onboarded_on,
        date.fromisoformat(terminated.details["terminated_on"]),
        bool(terminated.details["voluntary"]),
        terminated.details.get("reason"),
    )
