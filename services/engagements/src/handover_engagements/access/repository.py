import builtins
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, update
from sqlmodel import col, select

from handover_engagements.access.models import ApiKey, Membership
from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository


class MembershipRepository(Repository[Membership]):
    model = Membership

    async def list(
        self, page: PageRequest, *, organization_id: UUID
    ) -> tuple[list[Membership], str | None]:
        return await self.page(
            page,
            key=col(Membership.id),
            after=page.after_id(),
            equal={col(Membership.organization_id): organization_id},
        )

    async def all(self) -> builtins.list[Membership]:
        return list((await self.session.scalars(select(Membership))).all())

    async def delete(self, membership: Membership) -> None:
        await self.session.delete(membership)
        await self.session.flush()


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey

    async def list(
        self, page: PageRequest, *, organization_id: UUID | None
    ) -> tuple[list[ApiKey], str | None]:
        return await self.page(
            page,
            key=col(ApiKey.id),
            after=page.after_id(),
            equal={col(ApiKey.organization_id): organization_id},
        )

    async def active(self) -> builtins.list[ApiKey]:
        statement = select(ApiKey).where(col(ApiKey.revoked_at).is_(None))
        return list((await self.session.scalars(statement)).all())

    async def revoke(self, key: ApiKey) -> None:
        if key.revoked_at is None:
            key.revoked_at = await self.session.scalar(select(func.now()))
            await self.session.flush()

    async def record_use(self, last_used: dict[UUID, datetime]) -> None:
        for key_id, seen in last_used.items():
            await self.session.execute(
                update(ApiKey)
                .where(col(ApiKey.id) == key_id)
                .values(last_used_at=func.greatest(func.coalesce(ApiKey.last_used_at, seen), seen))
            )
