"""The phases of an engagement as a state machine, driven by its delivery model.

BOT: build -> operate -> transfer -> transferred, or operate -> managed when the transfer
option is not exercised. BTO: build -> transfer -> transferred; the client owns the team from
then on and the partner keeps operating it under contract. Hybrid: the engagement's own list,
fixed at creation, drawn from the moves BOT and BTO know. Every phase but the final ones can
end in `terminated`, whatever the model.
"""

from collections.abc import Iterable
from datetime import date, timedelta

from handover_shared.engagements import DeliveryModel, Owner, Phase

Move = tuple[Phase, Phase]

BOT: frozenset[Move] = frozenset(
    {
        (Phase.BUILD, Phase.OPERATE),
        (Phase.OPERATE, Phase.TRANSFER),
        (Phase.OPERATE, Phase.MANAGED),
        (Phase.TRANSFER, Phase.TRANSFERRED),
    }
)
BTO: frozenset[Move] = frozenset(
    {(Phase.BUILD, Phase.TRANSFER), (Phase.TRANSFER, Phase.TRANSFERRED)}
)
HYBRID_CHOICES = BOT | BTO
"""What a hybrid engagement may allow: the moves of BOT and BTO."""

FINAL = frozenset({Phase.TRANSFERRED, Phase.TERMINATED})
ENDS = frozenset({Phase.TRANSFERRED, Phase.MANAGED})
"""Where an engagement that is not terminated comes to rest."""

PLANNED = (Phase.BUILD, Phase.OPERATE, Phase.TRANSFER)
"""The phases with a planned window."""

TYPICAL_MONTHS = {Phase.BUILD: (1, 3), Phase.OPERATE: (12, 24), Phase.TRANSFER: (2, 3)}
"""Typical lengths of each phase, in months: a plan outside them is warned about, not refused."""


def moves_of(model: DeliveryModel, hybrid: Iterable[Move] | None = None) -> frozenset[Move]:
    if model is DeliveryModel.BOT:
        return BOT
    if model is DeliveryModel.BTO:
        return BTO
    return frozenset(hybrid) if hybrid is not None else HYBRID_CHOICES


def invalid_hybrid(moves: Iterable[Move]) -> list[str]:
    """Why a hybrid engagement's moves cannot work, if they cannot."""
    moves = set(moves)
    problems = [
        f"{source} -> {target} is not a move of BOT or BTO"
        for source, target in sorted(moves - HYBRID_CHOICES)
    ]
    if not problems and not _reaches_an_end(moves):
        problems.append("no sequence of these moves leads from build to transferred or managed")
    return problems


def _reaches_an_end(moves: set[Move]) -> bool:
    reached, frontier = {Phase.BUILD}, [Phase.BUILD]
    while frontier:
        phase = frontier.pop()
        for source, target in moves:
            if source == phase and target not in reached:
                reached.add(target)
                frontier.append(target)
    return bool(reached & ENDS)


def next_phases(phase: Phase, moves: Iterable[Move]) -> list[Phase]:
    """Where an engagement in `phase` may go, in the order of the phases."""
    targets = {target for source, target in moves if source == phase}
    if phase not in FINAL:
        targets.add(Phase.TERMINATED)
    return [candidate for candidate in Phase if candidate in targets]


def owner_in(phase: Phase) -> Owner:
    """Ownership passes to the client when the transfer completes, under every model."""
    return Owner.CLIENT if phase is Phase.TRANSFERRED else Owner.PARTNER


def months_between(start: date, end: date) -> float:
    return (end - start + timedelta(days=1)).days / 30.44
