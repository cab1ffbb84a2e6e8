from uuid import UUID

from sqlmodel import col

from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository
from handover_talent.requisitions.models import Requisition
from handover_talent.requisitions.schemas import RequisitionStatus


class RequisitionRepository(Repository[Requisition]):
    model = Requisition

    async def list(
        self,
        page: PageRequest,
        *,
        engagement_id: UUID | None,
        status: RequisitionStatus | None,
    ) -> tuple[list[Requisition], str | None]:
        return await self.page(
            page,
            key=col(Requisition.id),
            after=page.after_id(),
            equal={col(Requisition.engagement_id): engagement_id, col(Requisition.status): status},
        )
