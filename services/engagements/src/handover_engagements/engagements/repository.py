from uuid import UUID

from sqlmodel import col

from handover_engagements.engagements.models import Engagement
from handover_engagements.engagements.schemas import DeliveryModel, Phase
from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository


class EngagementRepository(Repository[Engagement]):
    model = Engagement

    async def list(
        self,
        page: PageRequest,
        *,
        client_id: UUID | None,
        partner_id: UUID | None,
        phase: Phase | None,
        delivery_model: DeliveryModel | None,
    ) -> tuple[list[Engagement], str | None]:
        return await self.page(
            page,
            key=col(Engagement.id),
            after=page.after_id(),
            equal={
                col(Engagement.client_id): client_id,
                col(Engagement.partner_id): partner_id,
                col(Engagement.phase): phase,
                col(Engagement.delivery_model): delivery_model,
            },
        )
