from uuid import UUID

from handover_kit.pagination import PageRequest
from handover_shared.problems import FieldError
from handover_talent.clients.engagements import EngagementsClient
from handover_talent.errors import RequisitionNotFound, UnknownEngagement
from handover_talent.requisitions.models import Requisition
from handover_talent.requisitions.repository import RequisitionRepository
from handover_talent.requisitions.schemas import RequisitionCreate, RequisitionStatus


class RequisitionService:
    def __init__(self, repository: RequisitionRepository, engagements: EngagementsClient) -> None:
        self.repository = repository
        self.engagements = engagements

    async def create(self, data: RequisitionCreate) -> Requisition:
        # Asked before the first query: the session takes its connection lazily, so none is
        # held idle in a transaction while the engagements service answers.
        if await self.engagements.get_engagement(data.engagement_id) is None:
            raise UnknownEngagement(
                f"There is no engagement {data.engagement_id}.",
                errors=[
                    FieldError(
                        loc=["body", "engagement_id"], msg="No such engagement", type="not_found"
                    )
                ],
            )
        return await self.repository.add(
            Requisition(**data.model_dump(), status=RequisitionStatus.DRAFT)
        )

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
