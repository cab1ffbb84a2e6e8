from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from handover_kit.pagination import PageRequest, paginate
from handover_talent.requisitions.models import Requisition
from handover_talent.requisitions.schemas import RequisitionStatus


class RequisitionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, requisition: Requisition) -> Requisition:
        self.session.add(requisition)
        await self.session.flush()
        await self.session.refresh(requisition)
        return requisition

    async def get(self, requisition_id: UUID) -> Requisition | None:
        return await self.session.get(Requisition, requisition_id)

    async def list(
        self,
        page: PageRequest,
        *,
        engagement_id: UUID | None,
        status: RequisitionStatus | None,
    ) -> tuple[list[Requisition], str | None]:
        statement = select(Requisition)
        filters = {
            col(Requisition.engagement_id): engagement_id,
            col(Requisition.status): status,
        }
        for column, value in filters.items():
            if value is not None:
                statement = statement.where(column == value)
        return await paginate(self.session, statement, col(Requisition.id), page, page.after_id())
