from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import func
from sqlmodel import col, select

from handover_engagements.engagements.models import Engagement
from handover_engagements.engagements.schemas import BusinessFunction, DeliveryModel, Phase
from handover_engagements.entities.models import LegalEntity
from handover_kit.pagination import PageRequest, paginate
from handover_kit.repository import Repository


@dataclass(frozen=True)
class EngagementFilter:
    client_id: UUID | None = None
    partner_id: UUID | None = None
    phase: Phase | None = None
    delivery_model: DeliveryModel | None = None
    country: str | None = None
    business_function: BusinessFunction | None = None
    q: str | None = None


@dataclass(frozen=True)
class LegalEntityFacts:
    organization_id: UUID
    country: str


def _like(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class EngagementRepository(Repository[Engagement]):
    model = Engagement

    async def list(
        self, page: PageRequest, filters: EngagementFilter
    ) -> tuple[list[Engagement], str | None]:
        statement = select(Engagement)
        for column, value in {
            col(Engagement.client_id): filters.client_id,
            col(Engagement.partner_id): filters.partner_id,
            col(Engagement.phase): filters.phase,
            col(Engagement.delivery_model): filters.delivery_model,
            col(Engagement.destination_country): filters.country,
        }.items():
            if value is not None:
                statement = statement.where(column == value)
        if filters.business_function is not None:
            statement = statement.where(
                col(Engagement.business_functions).contains([filters.business_function.value])
            )
        if filters.q:
            statement = statement.where(
                func.lower(col(Engagement.name)).like(_like(filters.q.lower()), escape="\\")
            )
        return await paginate(self.session, statement, col(Engagement.id), page, page.after_id())

    async def for_update(self, engagement_id: UUID) -> Engagement | None:
        """The engagement, locked until the transaction ends: changes to it queue up, so a
        version checked here is still the version written."""
        return await self.session.get(Engagement, engagement_id, with_for_update=True)

    async def save(self, engagement: Engagement) -> Engagement:
        self.session.add(engagement)
        await self.session.flush()
        await self.session.refresh(engagement)
        return engagement

    async def legal_entity(self, entity_id: UUID) -> LegalEntityFacts | None:
        """Whose a legal entity is and where, if the caller may see it."""
        entity = await self.session.get(LegalEntity, entity_id)
        return None if entity is None else LegalEntityFacts(entity.organization_id, entity.country)
