from uuid import UUID

from handover_kit.auth import Principal
from handover_kit.outbox import Publisher
from handover_kit.pagination import PageRequest
from handover_shared.engagements import EngagementRead
from handover_shared.problems import FieldError
from handover_shared.talent import REQUISITION_OPENED, RequisitionOpened
from handover_talent.clients import kpi
from handover_talent.clients.engagements import EngagementsClient
from handover_talent.errors import RequisitionNotFound, UnknownEngagement
from handover_talent.requisitions.models import Requisition
from handover_talent.requisitions.repository import RequisitionRepository
from handover_talent.requisitions.schemas import RequisitionCreate, RequisitionStatus


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
        engagement = await self.engagements.get_engagement(data.engagement_id)
        # Another tenant's engagement is answered exactly as a missing one.
        if engagement is None or not _may_act_on(principal, engagement):
            raise UnknownEngagement(
                f"There is no engagement {data.engagement_id}.",
                errors=[
                    FieldError(
                        loc=["body", "engagement_id"], msg="No such engagement", type="not_found"
                    )
                ],
            )
        requisition = await self.repository.add(
            Requisition(
                **data.model_dump(),
                client_id=engagement.client_id,
                partner_id=engagement.partner_id,
                status=RequisitionStatus.DRAFT,
            )
        )
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
                opened_at=requisition.created_at,
            ),
            aggregate_id=requisition.id,
        )
        return requisition

    async def get(self, requisition_id: UUID) -> Requisition:
        requisition = await self.repository.get(requisition_id)
        if requisition is None:
            raise RequisitionNotFound(f"There is no requisition {requisition_id}.")
        return requisition

    async def list(
        self,
        page: PageRequest,
        *,
        engagement_id: UUID | None = None,
        status: RequisitionStatus | None = None,
    ) -> tuple[list[Requisition], str | None]:
        return await self.repository.list(page, engagement_id=engagement_id, status=status)


def _may_act_on(principal: Principal, engagement: EngagementRead) -> bool:
    return principal.all_tenants or principal.tenant in (
        engagement.client_id,
        engagement.partner_id,
    )
