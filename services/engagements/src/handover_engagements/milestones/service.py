from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from handover_engagements.audit import AuditTrail
from handover_engagements.engagements.models import Engagement
from handover_engagements.engagements.repository import EngagementRepository
from handover_engagements.entities.service import apply_changes
from handover_engagements.errors import (
    EngagementNotFound,
    InvalidMilestoneCompletion,
    MilestoneEvidenceRequired,
    MilestoneNotFound,
)
from handover_engagements.milestones.models import Milestone
from handover_engagements.milestones.repository import MilestoneFilter, MilestoneRepository
from handover_engagements.milestones.schemas import (
    MilestoneCreate,
    MilestoneRead,
    MilestoneStatus,
    MilestoneUpdate,
)
from handover_kit.auth import Principal
from handover_kit.concurrency import check_version
from handover_kit.pagination import PageRequest

_FIELDS = set(MilestoneCreate.model_fields)


def _state(milestone: Milestone) -> dict[str, Any]:
    return MilestoneRead.model_validate(milestone).model_dump(include=_FIELDS)


def _dump(data: MilestoneCreate | MilestoneUpdate, *, exclude_unset: bool) -> dict[str, Any]:
    values = data.model_dump(exclude_unset=exclude_unset)
    if values.get("evidence_url") is not None:
        values["evidence_url"] = str(values["evidence_url"])
    return values


class MilestoneService:
    def __init__(
        self,
        repository: MilestoneRepository,
        engagements: EngagementRepository,
        audit: AuditTrail,
    ) -> None:
        self.repository = repository
        self.engagements = engagements
        self.audit = audit

    async def create(
        self, engagement_id: UUID, data: MilestoneCreate, actor: Principal
    ) -> Milestone:
        engagement = await self._engagement(engagement_id)
        milestone = Milestone(
            engagement_id=engagement.id,
            client_id=engagement.client_id,
            partner_id=engagement.partner_id,
            **_dump(data, exclude_unset=False),
        )
        _complete(
            milestone, was_done=False, completed_at_sent="completed_at" in data.model_fields_set
        )
        milestone = await self.repository.add(milestone)
        await self.audit.record(engagement.id, "milestone.created", actor, None, _state(milestone))
        return milestone

    async def get(self, engagement_id: UUID, milestone_id: UUID) -> Milestone:
        await self._engagement(engagement_id)
        return await self._milestone(engagement_id, milestone_id)

    async def list(
        self, engagement_id: UUID, page: PageRequest, filters: MilestoneFilter
    ) -> tuple[list[Milestone], str | None]:
        await self._engagement(engagement_id)
        return await self.repository.list(engagement_id, page, filters)

    async def update(
        self,
        engagement_id: UUID,
        milestone_id: UUID,
        data: MilestoneUpdate,
        expected: int,
        actor: Principal,
    ) -> Milestone:
        await self._engagement(engagement_id)
        milestone = await self._milestone(engagement_id, milestone_id, for_update=True)
        check_version(expected, milestone.version)
        was_done = milestone.status is MilestoneStatus.DONE
        state = _state(milestone)
        apply_changes(milestone, _dump(data, exclude_unset=True))
        _complete(
            milestone, was_done=was_done, completed_at_sent="completed_at" in data.model_fields_set
        )
        after = _state(milestone)
        changed = {name for name in after if after[name] != state[name]}
        if not changed:
            return milestone
        if milestone.version == expected:
            milestone.version += 1
        milestone = await self.repository.save(milestone)
        await self.audit.record(
            engagement_id,
            "milestone.updated",
            actor,
            {name: state[name] for name in sorted(changed)},
            {name: after[name] for name in sorted(changed)},
        )
        return milestone

    async def _engagement(self, engagement_id: UUID) -> Engagement:
        engagement = await self.engagements.get(engagement_id)
        if engagement is None:
            raise EngagementNotFound(f"There is no engagement {engagement_id}.")
        return engagement

    async def _milestone(
        self, engagement_id: UUID, milestone_id: UUID, *, for_update: bool = False
    ) -> Milestone:
        milestone = await self.repository.of(engagement_id, milestone_id, for_update=for_update)
        if milestone is None:
            raise MilestoneNotFound(f"Engagement {engagement_id} has no milestone {milestone_id}.")
        return milestone


def _complete(milestone: Milestone, *, was_done: bool, completed_at_sent: bool) -> None:
    """Hold a milestone's completion consistent: `done` needs evidence and a completion time
    (now unless given, kept while it stays done); any other status has no completion time."""
    now = datetime.now(UTC)
    if milestone.status is not MilestoneStatus.DONE:
        if completed_at_sent and milestone.completed_at is not None:
            raise InvalidMilestoneCompletion(
                f"completed_at applies to a done milestone only; this one is {milestone.status}.",
                errors=[
                    {
                        "loc": ["body", "completed_at"],
                        "msg": "Only for a done milestone",
                        "type": "not_done",
                    }
                ],
            )
        milestone.completed_at = None
        return
    if not (milestone.evidence_note or milestone.evidence_url):
        raise MilestoneEvidenceRequired(
            "A milestone is done only with completion evidence: send evidence_note or "
            "evidence_url (or both).",
            errors=[
                {
                    "loc": ["body", "evidence_note"],
                    "msg": "Evidence is required to mark a milestone done",
                    "type": "missing_evidence",
                }
            ],
        )
    if milestone.completed_at is None or not (was_done or completed_at_sent):
        milestone.completed_at = now
    elif milestone.completed_at > now:
        raise InvalidMilestoneCompletion(
            "completed_at cannot be in the future.",
            errors=[
                {
                    "loc": ["body", "completed_at"],
                    "msg": "In the future",
                    "type": "future",
                }
            ],
        )
