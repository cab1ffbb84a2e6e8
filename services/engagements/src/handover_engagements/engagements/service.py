from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from handover_engagements.audit.service import AuditTrail
from handover_engagements.clients.kpi import KpiClient
from handover_engagements.clients.talent import TalentClient
from handover_engagements.engagements import lifecycle
from handover_engagements.engagements.gates import Gates, Judging, SessionRecords
from handover_engagements.engagements.models import Engagement
from handover_engagements.engagements.repository import (
    EngagementFilter,
    EngagementRepository,
    EngagementRows,
    GateRows,
)
from handover_engagements.engagements.schemas import (
    DeliveryModel,
    EngagementCreate,
    EngagementRead,
    EngagementUpdate,
    GateResult,
    Phase,
    PhaseTimeline,
    PlannedPhases,
    Timeline,
    TransferOption,
    TransitionCreate,
)
from handover_engagements.errors import (
    EngagementNotFound,
    GateNotPassed,
    GateOverrideRefused,
    IllegalTransition,
    InvalidEngagementParties,
    InvalidLegalEntity,
    InvalidTransitions,
)
from handover_engagements.organizations.repository import OrganizationRepository
from handover_engagements.organizations.schemas import OrganizationKind
from handover_engagements.transfer_plans.service import TransferPlanService
from handover_kit.auth import Principal
from handover_kit.concurrency import check_version
from handover_kit.pagination import PageRequest
from handover_shared.auth import Scope

# What the audit trail records of an engagement, before and after a change.
AUDITED = (
    "name",
    "phase",
    "owner",
    "business_functions",
    "destination_country",
    "site",
    "planned_headcount",
    "contract_signed_on",
    "planned_phases",
    "actual_phases",
    "transfer_option",
    "partner_entity_id",
    "client_entity_id",
    "transfer_plan_approved_at",
)


def today() -> date:
    return datetime.now(UTC).date()


def moves(engagement: Engagement) -> frozenset[lifecycle.Move]:
    """BOT and BTO follow their model; a hybrid engagement its own list, or every move of BOT
    and BTO when it has none (a row written other than through the API)."""
    chosen = [(Phase(source), Phase(target)) for source, target in engagement.transitions]
    return lifecycle.moves_of(engagement.delivery_model, chosen or None)


def require_move(engagement: Engagement, target: Phase) -> None:
    allowed = lifecycle.next_phases(engagement.phase, moves(engagement))
    if target not in allowed:
        raise IllegalTransition(
            f"A {engagement.delivery_model} engagement in {engagement.phase} cannot move to "
            f"{target}; it may move to: {', '.join(allowed) or 'nothing, it has ended'}.",
            phase=engagement.phase,
            allowed_transitions=allowed,
        )


def warnings(engagement: Engagement) -> list[str]:
    found = []
    if engagement.destination_country is None:
        found.append("No destination country is set.")
    planned = PlannedPhases.model_validate(engagement.planned_phases)
    previous_end: date | None = None
    for phase in lifecycle.PLANNED:
        window = getattr(planned, phase.value)
        if window is None:
            continue
        low, high = lifecycle.TYPICAL_MONTHS[phase]
        months = lifecycle.months_between(window.start, window.end)
        if not low - 0.5 <= months <= high + 0.5:
            found.append(f"{phase} is planned for {months:.1f} months; typically {low}-{high}.")
        if previous_end is not None and window.start <= previous_end:
            found.append(f"{phase} is planned to start before the previous phase ends.")
        previous_end = window.end
    return found


# Taken from the row as they are; the rest `read` works out.
_DERIVED = frozenset({"transitions", "next_phases", "warnings"})
_COPIED = tuple(
    name
    for name in EngagementRead.model_fields
    if name not in _DERIVED and hasattr(Engagement, name)
)


@lru_cache(maxsize=1024)
def _lifecycle_view(
    model: DeliveryModel, transitions: tuple[tuple[str, str], ...], phase: Phase
) -> tuple[tuple[dict[str, Phase], ...], tuple[Phase, ...]]:
    """`transitions` and `next_phases` as answered: the same for every engagement of a model,
    moves and phase, so worked out once (a page repeats a handful of them)."""
    chosen = [(Phase(source), Phase(target)) for source, target in transitions]
    allowed = lifecycle.moves_of(model, chosen or None)
    return (
        tuple({"from_phase": source, "to_phase": target} for source, target in sorted(allowed)),
        tuple(lifecycle.next_phases(phase, allowed)),
    )


def read(engagement: Engagement) -> EngagementRead:
    transitions, next_phases = _lifecycle_view(
        engagement.delivery_model,
        tuple((source, target) for source, target in engagement.transitions),
        engagement.phase,
    )
    # Loaded columns sit in the instance's dict: reading them there skips the ORM's attribute
    # machinery, a good part of a page's cost. Anything else (unloaded, a property) by getattr.
    loaded = engagement.__dict__
    fields = {
        name: loaded[name] if name in loaded else getattr(engagement, name) for name in _COPIED
    }
    fields["transitions"] = transitions
    fields["next_phases"] = next_phases
    fields["warnings"] = warnings(engagement)
    return EngagementRead.model_validate(fields)


def snapshot(engagement: Engagement) -> dict[str, Any]:
    return {name: getattr(engagement, name) for name in AUDITED}


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    names = [name for name in before if before[name] != after[name]]
    return {name: before[name] for name in names}, {name: after[name] for name in names}


class EngagementReader:
    """Engagements as reads return them, on a read-only connection (`Reads`): the
    routes called most, at a fraction of a session's cost."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.rows = EngagementRows(connection)

    async def get(self, engagement_id: UUID) -> Engagement:
        engagement = await self.rows.get(engagement_id)
        if engagement is None:
            raise EngagementNotFound(f"There is no engagement {engagement_id}.")
        return engagement

    async def list(
        self, page: PageRequest, filters: EngagementFilter
    ) -> tuple[list[Engagement], str | None]:
        return await self.rows.list(page, filters)


Reads = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]
"""Opens a read-only transaction as the caller's tenancy (see `handover_kit.db.Database.raw`)."""


class GateCheck:
    """A gate's dry run. It reads on a read-only connection, which it gives back before it
    awaits the other services' answers: a slow talent or kpi holds no connection of the pool."""

    def __init__(self, reads: Reads, talent: TalentClient, kpi: KpiClient) -> None:
        self.reads = reads
        self.talent = talent
        self.kpi = kpi

    async def gate(self, engagement_id: UUID, target: Phase) -> GateResult:
        judging: Judging | None = None
        try:
            async with self.reads() as connection:
                rows = GateRows(connection)
                engagement = await rows.get(engagement_id)
                if engagement is None:
                    raise EngagementNotFound(f"There is no engagement {engagement_id}.")
                require_move(engagement, target)
                judging = Gates(rows, self.talent, self.kpi).judging(engagement, target)
                await judging.judge_own()
            criteria = await judging.verdicts()
        finally:
            if judging is not None:
                await judging.close()
        return GateResult(
            engagement_id=engagement.id,
            from_phase=engagement.phase,
            to_phase=target,
            passed=all(criterion.met for criterion in criteria),
            criteria=criteria,
        )


class EngagementService:
    def __init__(
        self,
        session: AsyncSession,
        talent: TalentClient | None = None,
        kpi: KpiClient | None = None,
    ) -> None:
        self.session = session
        self.repository = EngagementRepository(session)
        self.organizations = OrganizationRepository(session)
        self.audit = AuditTrail(session)
        self.talent = talent
        self.kpi = kpi

    async def create(self, data: EngagementCreate, actor: Principal) -> Engagement:
        await self._require_kind(data.client_id, OrganizationKind.CLIENT, "client_id")
        await self._require_kind(data.partner_id, OrganizationKind.PARTNER, "partner_id")
        allowed = self._moves(data)
        engagement = Engagement(
            **data.model_dump(
                exclude={"transitions", "planned_phases", "transfer_option", "business_functions"}
            ),
            business_functions=[str(function) for function in data.business_functions],
            planned_phases=_json(data.planned_phases) or {},
            transfer_option=_json(data.transfer_option),
            transitions=[[source.value, target.value] for source, target in sorted(allowed)],
            phase=Phase.BUILD,
            owner=lifecycle.owner_in(Phase.BUILD),
            actual_phases={Phase.BUILD.value: {"start": today().isoformat(), "end": None}},
        )
        await self._check_entities(engagement)
        engagement = await self.repository.add(engagement)
        await TransferPlanService(self.session).draw_up(engagement.id)
        await self.audit.record(
            engagement.id, "engagement.created", actor, None, snapshot(engagement)
        )
        return engagement

    def _moves(self, data: EngagementCreate) -> frozenset[lifecycle.Move]:
        if data.delivery_model is not DeliveryModel.HYBRID:
            if data.transitions is not None:
                raise InvalidTransitions(
                    f"A {data.delivery_model} engagement follows its model; only hybrid "
                    "engagements list their transitions.",
                    errors=[
                        {
                            "loc": ["body", "transitions"],
                            "msg": "Hybrid only",
                            "type": "hybrid_only",
                        }
                    ],
                )
            return lifecycle.moves_of(data.delivery_model)
        if data.transitions is None:
            return lifecycle.HYBRID_CHOICES
        chosen = [(move.from_phase, move.to_phase) for move in data.transitions]
        problems = lifecycle.invalid_hybrid(chosen)
        if problems:
            raise InvalidTransitions(
                "These transitions cannot drive an engagement: " + "; ".join(problems) + ".",
                errors=[
                    {"loc": ["body", "transitions"], "msg": problem, "type": "invalid_transitions"}
                    for problem in problems
                ],
            )
        return frozenset(chosen)

    async def get(self, engagement_id: UUID) -> Engagement:
        engagement = await self.repository.get(engagement_id)
        if engagement is None:
            raise EngagementNotFound(f"There is no engagement {engagement_id}.")
        return engagement

    async def locked(self, engagement_id: UUID, expected_version: int) -> Engagement:
        """The engagement, locked for a change based on `expected_version`."""
        engagement = await self.repository.for_update(engagement_id)
        if engagement is None:
            raise EngagementNotFound(f"There is no engagement {engagement_id}.")
        check_version(expected_version, engagement.version)
        return engagement

    async def list(
        self, page: PageRequest, filters: EngagementFilter
    ) -> tuple[list[Engagement], str | None]:
        return await self.repository.list(page, filters)

    async def update(
        self, engagement_id: UUID, data: EngagementUpdate, expected_version: int, actor: Principal
    ) -> Engagement:
        engagement = await self.locked(engagement_id, expected_version)
        before = snapshot(engagement)
        changes = data.model_dump(exclude_unset=True)
        for name, value in changes.items():
            if name == "planned_phases":
                value = _json(data.planned_phases) or {}
            elif name == "transfer_option":
                value = _json(data.transfer_option)
            elif name == "business_functions":
                value = [str(function) for function in data.business_functions or []]
            setattr(engagement, name, value)
        await self._check_entities(engagement)
        old, new = changed(before, snapshot(engagement))
        if not new:
            return engagement
        return await self._save(engagement, "engagement.updated", actor, old, new)

    async def approve_transfer_plan(
        self, engagement_id: UUID, expected_version: int, actor: Principal, reason: str | None
    ) -> Engagement:
        engagement = await self.locked(engagement_id, expected_version)
        if engagement.transfer_plan_approved_at is not None:
            return engagement
        engagement.transfer_plan_approved_at = datetime.now(UTC)
        engagement.transfer_plan_approved_by = actor.id
        return await self._save(
            engagement,
            "transfer_plan.approved",
            actor,
            {"transfer_plan_approved_at": None},
            {"transfer_plan_approved_at": engagement.transfer_plan_approved_at},
            reason,
        )

    async def transition(
        self,
        engagement_id: UUID,
        data: TransitionCreate,
        expected_version: int,
        actor: Principal,
    ) -> Engagement:
        if data.override and Scope.PLATFORM_ADMIN not in actor.scopes:
            raise GateOverrideRefused("Only a platform administrator may override a gate.")
        engagement = await self.locked(engagement_id, expected_version)
        source, target = engagement.phase, data.to_phase
        require_move(engagement, target)
        criteria = await self._gates().evaluate(
            engagement, target, tolerate_unavailable=data.override
        )
        unmet = [criterion for criterion in criteria if not criterion.met]
        if unmet and not data.override:
            raise GateNotPassed(
                f"The gate from {source} to {target} is not passed: {len(unmet)} criteria unmet.",
                unmet=[criterion.model_dump() for criterion in unmet],
            )
        before = snapshot(engagement)
        on = today().isoformat()
        actual = {**engagement.actual_phases}
        actual[source.value] = {**actual.get(source.value, {"start": None}), "end": on}
        actual[target.value] = {"start": on, "end": None}
        engagement.actual_phases = actual
        engagement.phase = target
        engagement.owner = lifecycle.owner_in(target)
        old, new = changed(before, snapshot(engagement))
        new["gate"] = {
            "overridden": bool(unmet),
            "unmet": [criterion.model_dump() for criterion in unmet],
        }
        return await self._save(engagement, "engagement.transitioned", actor, old, new, data.reason)

    async def timeline(self, engagement_id: UUID) -> Timeline:
        engagement = await self.get(engagement_id)
        planned = PlannedPhases.model_validate(engagement.planned_phases)
        phases = []
        for phase in Phase:
            window = getattr(planned, phase.value, None)
            actual = engagement.actual_phases.get(phase.value)
            if window is None and actual is None:
                continue
            actual_start = _date(actual.get("start")) if actual else None
            actual_end = _date(actual.get("end")) if actual else None
            phases.append(
                PhaseTimeline(
                    phase=phase,
                    planned_start=window.start if window else None,
                    planned_end=window.end if window else None,
                    actual_start=actual_start,
                    actual_end=actual_end,
                    start_slippage_days=_slip(window.start if window else None, actual_start),
                    end_slippage_days=_end_slip(
                        window.end if window else None, actual_start, actual_end
                    ),
                )
            )
        return Timeline(engagement_id=engagement.id, phase=engagement.phase, phases=phases)

    def _gates(self) -> Gates:
        assert self.talent is not None, "gates ask talent"
        assert self.kpi is not None, "gates ask kpi"
        return Gates(SessionRecords(self.session), self.talent, self.kpi)

    async def _save(
        self,
        engagement: Engagement,
        action: str,
        actor: Principal,
        before: dict[str, Any],
        after: dict[str, Any],
        reason: str | None = None,
    ) -> Engagement:
        engagement.version += 1
        engagement = await self.repository.save(engagement)
        await self.audit.record(engagement.id, action, actor, before, after, reason)
        return engagement

    async def _check_entities(self, engagement: Engagement) -> None:
        if engagement.partner_entity_id is not None:
            entity = await self.repository.legal_entity(engagement.partner_entity_id)
            if entity is None or entity.organization_id != engagement.partner_id:
                raise InvalidLegalEntity(
                    "partner_entity_id must name a legal entity of the partner.",
                    errors=[
                        {
                            "loc": ["body", "partner_entity_id"],
                            "msg": "Not the partner's",
                            "type": "wrong_entity",
                        }
                    ],
                )
        if engagement.client_entity_id is not None:
            entity = await self.repository.legal_entity(engagement.client_entity_id)
            if entity is None or entity.organization_id != engagement.client_id:
                raise InvalidLegalEntity(
                    "client_entity_id must name a legal entity of the client.",
                    errors=[
                        {
                            "loc": ["body", "client_entity_id"],
                            "msg": "Not the client's",
                            "type": "wrong_entity",
                        }
                    ],
                )
            if entity.country != engagement.destination_country:
                raise InvalidLegalEntity(
                    "client_entity_id must name the client's entity in the destination "
                    f"country ({engagement.destination_country or 'not set'}), not one in "
                    f"{entity.country}.",
                    errors=[
                        {
                            "loc": ["body", "client_entity_id"],
                            "msg": "Not in the destination country",
                            "type": "wrong_country",
                        }
                    ],
                )

    async def _require_kind(
        self, organization_id: UUID, kind: OrganizationKind, field: str
    ) -> None:
        organization = await self.organizations.get(organization_id)
        if organization is None:
            raise InvalidEngagementParties(
                f"{field} names no organization.",
                errors=[
                    {"loc": ["body", field], "msg": "No such organization", "type": "not_found"}
                ],
            )
        if organization.kind != kind:
            raise InvalidEngagementParties(
                f"{field} must name a {kind} organization, not a {organization.kind}.",
                errors=[{"loc": ["body", field], "msg": f"Must be a {kind}", "type": "wrong_kind"}],
            )


def _json(model: PlannedPhases | TransferOption | None) -> dict[str, Any] | None:
    return None if model is None else model.model_dump(mode="json", exclude_none=True)


def _date(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def _slip(planned: date | None, actual: date | None) -> int | None:
    return (actual - planned).days if planned and actual else None


def _end_slip(planned: date | None, started: date | None, ended: date | None) -> int | None:
    if planned is None or started is None:
        return None
    if ended is not None:
        return (ended - planned).days
    late = (today() - planned).days
    return late if late > 0 else None
