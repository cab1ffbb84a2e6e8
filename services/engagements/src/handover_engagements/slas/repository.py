from uuid import UUID

from sqlmodel import col, select

from handover_engagements.slas.models import Sla
from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository


class SlaRepository(Repository[Sla]):
    model = Sla

    async def list(self, engagement_id: UUID, page: PageRequest) -> tuple[list[Sla], str | None]:
        return await self.page(
            page,
            key=col(Sla.id),
            after=page.after_id(),
            equal={col(Sla.engagement_id): engagement_id},
        )

    async def of(
        self, engagement_id: UUID, sla_id: UUID, *, for_update: bool = False
    ) -> Sla | None:
        statement = select(Sla).where(
            col(Sla.id) == sla_id, col(Sla.engagement_id) == engagement_id
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).first()

    async def save(self, sla: Sla) -> Sla:
        self.session.add(sla)
        await self.session.flush()
        await self.session.refresh(sla)
        return sla

    async def remove(self, sla: Sla) -> None:
        await self.session.delete(sla)
        await self.session.flush()
