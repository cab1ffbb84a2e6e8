from datetime import UTC, datetime
from uuid import UUID

from handover_kit.auth import Principal
from handover_kit.concurrency import check_version
from handover_kit.db import UniqueViolation
from handover_kit.outbox import Publisher
from handover_kit.pagination import PageRequest
from handover_shared.problems import FieldError
from handover_shared.talent import REQUISITION_OPENED, RequisitionOpened
from handover_talent.clients import kpi
from handover_talent.clients.engagements import EngagementsClient
from handover_talent.errors import (
    ExternalJobTaken,
    HiringClosed,
    IllegalTransition,
    InvalidReference,
    RequisitionNotFound,
)
from handover_talent.pipeline.settle import Settler
from handover_talent.requisitions.models import Requisition
from handover_talent.requisitions.repository import RequisitionRepository
from handover_talent.requisitions.schemas import (
    RequisitionCreate,
    RequisitionStatus,
    RequisitionUpdate,
)
from handover_talent.roles.models import Role
from handover_talent.roles.service import require_ready

Status = RequisitionStatus

TRANSITIONS: dict[RequisitionStatus, frozenset[RequisitionStatus]] = {
    Status.DRAFT: frozenset({Status.OPEN, Status.CANCELLED}),
    Status.OPEN: frozenset({Status.ON_HOLD, Status.CANCELLED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.CANCELLED}),
    # Filled follows the hires: a hire taken back opens it again, by itself.
    Status.FILLED: frozenset({Status.CANCELLED}),
    Status.CANCELLED: frozenset(),
}


class RequisitionService:
    def __init__(
        self,
        repository: RequisitionRepository,
        engagements: EngagementsClient,
        publisher: Publisher,
    ) -> None:
        self.repository = repository
        self.engagements = engagements
        self.publisher = publisher

    async def create(self, data: RequisitionCreate, principal: Principal) -> Requisition:
        # Asked before the first query: the session takes its connection lazily, so none is
        # held idle in a transaction while the engagements service answers.
        engagement = await self.engagements.visible_engagement(
            data.engagement_id, principal, ["body", "engagement_id"]
        )
        role = await self._role(data.role_id, data.engagement_id)
        title = data.title or (role.title if role else None)
        assert title is not None
        try:
            return await self.repository.add(
                Requisition(
                    **data.model_dump(exclude={"title"}),
                    title=title,
                    client_id=engagement.client_id,
                    partner_id=engagement.partner_id,
                    status=RequisitionStatus.DRAFT,
                )
            )
        except UniqueViolation:
            raise _job_taken(data.external_job_id) from None

    async def update(
        self, requisition_id: UUID, data: RequisitionUpdate, expected_version: int
    ) -> Requisition:
        requisition = await self.get(requisition_id)
        check_version(expected_version, requisition.version)
        changes = data.model_dump(exclude_unset=True)
        if changes.get("role_id") is not None:
            await self._role(changes["role_id"], requisition.engagement_id)
        for name, value in changes.items():
            setattr(requisition, name, value)
        requisition.version += 1
        try:
            await self.repository.save(requisition)
        except UniqueViolation:
            raise _job_taken(data.external_job_id) from None
        await Settler(self.repository.session, self.publisher).settle_requisition(requisition)
        return requisition

    async def transition(
        self, requisition_id: UUID, status: RequisitionStatus, principal: Principal
    ) -> Requisition:
        requisition = await self.get(requisition_id)
        allowed = TRANSITIONS[requisition.status]
        if status not in allowed:
            raise IllegalTransition(
                f"A {requisition.status} requisition cannot become {status}.",
                current=requisition.status,
                allowed=sorted(allowed),
            )
        if status is Status.OPEN:
            await self._open(requisition, principal)
        requisition.status = status
        requisition.version += 1
        await self.repository.save(requisition)
        if status is Status.OPEN:
            await Settler(self.repository.session, self.publisher).settle_requisition(requisition)
        return requisition

    async def _open(self, requisition: Requisition, principal: Principal) -> None:
        role = await self._role(requisition.role_id, requisition.engagement_id)
        if role is None:
            raise InvalidReference(
                f"Requisition {requisition.id} has no role: set `role_id` to a role definition "
                "with responsibilities and success criteria before it opens.",
                missing=["role_id"],
                errors=[FieldError(loc=["requisition", "role_id"], msg="Required", type="missing")],
            )
        require_ready(role)
        # A commit would not hold the connection while engagements answers here: the
        # requisition was read already, so the transaction holds one. The call is short.
        engagement = await self.engagements.visible_engagement(
            requisition.engagement_id, principal, ["requisition", "engagement_id"]
        )
        if not engagement.hiring_open:
            raise HiringClosed(
                f"Engagement {engagement.id} does not hire in its {engagement.phase} phase.",
                phase=engagement.phase,
            )
        requisition.partner_entity_id = engagement.partner_entity_id
        if requisition.opened_at is None:
            requisition.opened_at = datetime.now(UTC)
            await self.publisher.tell(
                kpi.UPSTREAM,
                REQUISITION_OPENED,
                RequisitionOpened(
                    requisition_id=requisition.id,
                    engagement_id=requisition.engagement_id,
                    client_id=requisition.client_id,
                    partner_id=requisition.partner_id,
                    title=requisition.title,
                    headcount=requisition.headcount,
                    opened_at=requisition.opened_at,
                ),
                aggregate_id=requisition.id,
            )

    async def _role(self, role_id: UUID | None, engagement_id: UUID) -> Role | None:
        if role_id is None:
            return None
        role = await self.repository.session.get(Role, role_id)
        if role is None or role.engagement_id != engagement_id:
            raise InvalidReference(
                f"There is no role {role_id} in engagement {engagement_id}.",
                errors=[FieldError(loc=["body", "role_id"], msg="No such role", type="not_found")],
            )
        return role

    async def get(self, requisition_id: UUID) -> Requisition:
        requisition = await self.repository.get(requisition_id)
        if requisition is None:
            raise RequisitionNotFound(f"There is no requisition {requisition_id}.")
        return requisition

    async def hired(self, requisitions: list[Requisition]) -> dict[UUID, int]:
        return await self.repository.hired_counts([r.id for r in requisitions])

    async def list(
        self,
        page: PageRequest,
        *,
        engagement_id: UUID | None = None,
        status: RequisitionStatus | None = None,
    ) -> tuple[list[Requisition], str | None]:
        return await self.repository.list(page, engagement_id=engagement_id, status=status)


def _job_taken(external_job_id: str | None) -> ExternalJobTaken:
    return ExternalJobTaken(
        f"Another requisition of this engagement names job {external_job_id!r}.",
        errors=[FieldError(loc=["body", "external_job_id"], msg="Already named", type="unique")],
    )
