from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from handover_engagements.engagements.models import Engagement
from handover_engagements.engagements.schemas import DeliveryModel, Phase
from handover_kit.pagination import PageRequest, paginate


class EngagementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, engagement: Engagement) -> Engagement:
        self.session.add(engagement)
        await self.session.flush()
        await self.session.refresh(engagement)
        return engagement

    async def get(self, engagement_id: UUID) -> Engagement | None:
        return await self.session.get(Engagement, engagement_id)

    async def list(
        self,
        page: PageRequest,
        *,
        client_id: UUID | None,
        partner_id: UUID | None,
        phase: Phase | None,
        delivery_model: DeliveryModel | None,
    ) -> tuple[list[Engagement], str | None]:
        statement = select(Engagement)
        filters = {
            col(Engagement.client_id): client_id,
            col(Engagement.partner_id): partner_id,
            col(Engagement.phase): phase,
            col(Engagement.delivery_model): delivery_model,
        }
        for column, value in filters.items():
            if value is not None:
                statement = statement.where(column == value)
        return await paginate(self.session, statement, col(Engagement.id), page, page.after_id())
