from uuid import UUID

from sqlmodel import col

from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository
from handover_talent.roles.models import Role


class RoleRepository(Repository[Role]):
    model = Role

    async def list(
        self, page: PageRequest, *, engagement_id: UUID | None
    ) -> tuple[list[Role], str | None]:
        return await self.page(
            page,
            key=col(Role.id),
            after=page.after_id(),
            equal={col(Role.engagement_id): engagement_id},
        )

    async def save(self, role: Role) -> Role:
        await self.session.flush()
        await self.session.refresh(role)
        return role
