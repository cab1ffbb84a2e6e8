from uuid import UUID

from sqlmodel import col, select

from handover_engagements.entities.models import LegalEntity
from handover_kit.db import flush_unique
from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository


class LegalEntityRepository(Repository[LegalEntity]):
    model = LegalEntity

    async def list(
        self, organization_id: UUID, page: PageRequest
    ) -> tuple[list[LegalEntity], str | None]:
        return await self.page(
            page,
            key=col(LegalEntity.id),
            after=page.after_id(),
            equal={col(LegalEntity.organization_id): organization_id},
        )

    async def of(
        self, organization_id: UUID, entity_id: UUID, *, for_update: bool = False
    ) -> LegalEntity | None:
        statement = select(LegalEntity).where(
            col(LegalEntity.id) == entity_id, col(LegalEntity.organization_id) == organization_id
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).first()

    async def save(self, entity: LegalEntity) -> LegalEntity:
        """Write the changes; a registration number taken raises UniqueViolation."""
        self.session.add(entity)
        await flush_unique(self.session)
        await self.session.refresh(entity)
        return entity
