"""The entry criteria of each phase transition. Every criterion is judged and reported, met
or not; what another service must answer is asked of it, and a service that cannot answer
stops the gate with a 503 naming it, never a guess."""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from handover_engagements.clients.kpi import KpiClient
from handover_engagements.clients.talent import TalentClient
from handover_engagements.engagements.models import Engagement
from handover_engagements.engagements.schemas import GateCriterion, Phase
from handover_engagements.milestones.repository import MilestoneRepository
from handover_engagements.transfer_plans.repository import TransferPlanItemRepository
from handover_kit.errors import DependencyUnavailable
from handover_shared.kpi import MetricStatus

Criterion = Callable[[Engagement], Coroutine[Any, Any, GateCriterion]]

# The key each criterion reports under, by the method that judges it.
KEYS = {
    "_hiring_plan_fulfilled": "hiring_plan_fulfilled",
    "_build_milestones_done": "build_milestones_done",
    "_transfer_plan_approved": "transfer_plan_approved",
    "_client_entity_set": "client_entity_set",
    "_transfer_readiness": "transfer_readiness_passed",
    "_transfer_items_done": "transfer_items_done",
    "_employment_moved": "employment_moved",
}
ASKS_ANOTHER_SERVICE = frozenset(
    {"_hiring_plan_fulfilled", "_transfer_readiness", "_employment_moved"}
)


class GateRecords(Protocol):
    """This service's own records that gates read."""

    async def unfinished_milestones(self, engagement_id: UUID, phase: Phase) -> int:
        """How many milestones of `phase` are neither done nor cancelled."""
        ...

    async def unfinished_items(self, engagement_id: UUID) -> list[str]:
        """The titles of the transfer plan items not finished, oldest first."""
        ...


class SessionRecords:
    """The records as a change reads them: in the request's session, beside the locked
    engagement."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def unfinished_milestones(self, engagement_id: UUID, phase: Phase) -> int:
        return len(await MilestoneRepository(self.session).unfinished(engagement_id, phase))

    async def unfinished_items(self, engagement_id: UUID) -> list[str]:
        items = await TransferPlanItemRepository(self.session).unfinished(engagement_id)
        return [item.title for item in items]


class Judging:
    """One gate being judged. The other services are asked as soon as it starts, so that their
    answers travel while this service reads its own records (`judge_own`); a caller may give its
    connection back before awaiting them (`verdicts`). `close` must follow, whatever happens:
    it cancels the questions no one waited for."""

    def __init__(
        self, criteria: list[Criterion], engagement: Engagement, tolerate_unavailable: bool
    ) -> None:
        self._criteria = criteria
        self._engagement = engagement
        self._tolerate_unavailable = tolerate_unavailable
        self._asked = {
            criterion: asyncio.create_task(_judge(criterion, engagement, tolerate_unavailable))
            for criterion in criteria
            if criterion.__name__ in ASKS_ANOTHER_SERVICE
        }
        self._own: dict[Criterion, GateCriterion] = {}

    async def judge_own(self) -> None:
        """The criteria this service's records decide, one at a time (they share a connection)."""
        for criterion in self._criteria:
            if criterion not in self._asked and criterion not in self._own:
                self._own[criterion] = await _judge(
                    criterion, self._engagement, self._tolerate_unavailable
                )

    async def verdicts(self) -> list[GateCriterion]:
        """Every criterion, in order."""
        await self.judge_own()
        return [
            self._own.get(criterion) or await self._asked[criterion] for criterion in self._criteria
        ]

    async def close(self) -> None:
        for task in self._asked.values():
            task.cancel()
        await asyncio.gather(*self._asked.values(), return_exceptions=True)


async def _judge(
    criterion: Criterion, engagement: Engagement, tolerate_unavailable: bool
) -> GateCriterion:
    try:
        return await criterion(engagement)
    except DependencyUnavailable as unavailable:
        if not tolerate_unavailable:
            raise
        dependency = unavailable.extensions.get("dependency")
        return GateCriterion(
            key=KEYS[criterion.__name__],
            met=False,
            detail=f"Not judged: the {dependency} service is unavailable.",
        )


class Gates:
    def __init__(self, records: GateRecords, talent: TalentClient, kpi: KpiClient) -> None:
        self.records = records
        self.talent = talent
        self.kpi = kpi

    def _criteria(self, source: Phase, target: Phase) -> list[Criterion]:
        build_done: list[Criterion] = [self._hiring_plan_fulfilled, self._build_milestones_done]
        handover_ready: list[Criterion] = [self._transfer_plan_approved, self._client_entity_set]
        criteria: dict[tuple[Phase, Phase], list[Criterion]] = {
            (Phase.BUILD, Phase.OPERATE): build_done,
            (Phase.BUILD, Phase.TRANSFER): build_done + handover_ready,
            (Phase.OPERATE, Phase.TRANSFER): [*handover_ready, self._transfer_readiness],
            (Phase.TRANSFER, Phase.TRANSFERRED): [
                self._transfer_items_done,
                self._employment_moved,
            ],
        }
        return criteria.get((source, target), [])

    def judging(
        self, engagement: Engagement, target: Phase, *, tolerate_unavailable: bool = False
    ) -> Judging:
        """Start judging every criterion of moving `engagement` to `target`. With
        `tolerate_unavailable` (an override), a service that cannot answer makes its criterion
        unmet instead of failing."""
        return Judging(self._criteria(engagement.phase, target), engagement, tolerate_unavailable)

    async def evaluate(
        self, engagement: Engagement, target: Phase, *, tolerate_unavailable: bool = False
    ) -> list[GateCriterion]:
        """Every criterion of moving `engagement` to `target`, in order."""
        judging = self.judging(engagement, target, tolerate_unavailable=tolerate_unavailable)
        try:
            return await judging.verdicts()
        finally:
            await judging.close()

    async def _hiring_plan_fulfilled(self, engagement: Engagement) -> GateCriterion:
        key = "hiring_plan_fulfilled"
        if engagement.planned_headcount is None:
            return GateCriterion(key=key, met=False, detail="No planned headcount is set.")
        progress = await self.talent.hiring_progress(engagement.id)
        met = (
            progress.active_members >= engagement.planned_headcount
            and progress.open_requisitions == 0
        )
        return GateCriterion(
            key=key,
            met=met,
            detail=f"{progress.active_members} of {engagement.planned_headcount} planned members "
            f"are active; {progress.open_requisitions} requisitions are open.",
        )

    async def _build_milestones_done(self, engagement: Engagement) -> GateCriterion:
        unfinished = await self.records.unfinished_milestones(engagement.id, Phase.BUILD)
        return GateCriterion(
            key="build_milestones_done",
            met=not unfinished,
            detail=f"{unfinished} build milestones are not done."
            if unfinished
            else "Every build milestone is done.",
        )

    async def _transfer_plan_approved(self, engagement: Engagement) -> GateCriterion:
        approved = engagement.transfer_plan_approved_at is not None
        return GateCriterion(
            key="transfer_plan_approved",
            met=approved,
            detail="The transfer plan is approved."
            if approved
            else "The transfer plan is not approved.",
        )

    async def _client_entity_set(self, engagement: Engagement) -> GateCriterion:
        return GateCriterion(
            key="client_entity_set",
            met=engagement.client_entity_id is not None,
            detail="The client's destination entity is set."
            if engagement.client_entity_id
            else "The client's legal entity in the destination country is not set.",
        )

    async def _transfer_readiness(self, engagement: Engagement) -> GateCriterion:
        readiness = await self.kpi.transfer_readiness(engagement.id)
        failing = [
            metric.reason or f"{metric.metric_key} is {metric.status}."
            for metric in readiness.metrics
            if metric.status is not MetricStatus.MET
        ]
        return GateCriterion(
            key="transfer_readiness_passed",
            met=readiness.ready,
            detail="The KPI readiness scorecard passes."
            if readiness.ready
            else "The KPI readiness scorecard does not pass: " + " ".join(failing),
        )

    async def _transfer_items_done(self, engagement: Engagement) -> GateCriterion:
        unfinished = await self.records.unfinished_items(engagement.id)
        return GateCriterion(
            key="transfer_items_done",
            met=not unfinished,
            detail="Every transfer plan item is done."
            if not unfinished
            else f"{len(unfinished)} transfer plan items are not done: "
            + ", ".join(unfinished)
            + ".",
        )

    async def _employment_moved(self, engagement: Engagement) -> GateCriterion:
        key = "employment_moved"
        if engagement.client_entity_id is None:
            return GateCriterion(
                key=key, met=False, detail="There is no client entity to move employment to."
            )
        status = await self.talent.employment(engagement.id, engagement.client_entity_id)
        met = not status.not_moved and status.moved == status.active_members
        return GateCriterion(
            key=key,
            met=met,
            detail=f"The client's entity employs {status.moved} of {status.active_members} "
            "active members.",
        )
