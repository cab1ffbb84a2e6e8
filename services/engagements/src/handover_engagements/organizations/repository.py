from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from handover_engagements.organizations.models import Organization
from handover_engagements.organizations.schemas import OrganizationKind
from handover_kit.db import flush_unique
from handover_kit.pagination import PageRequest, paginate


class OrganizationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, organization: Organization) -> Organization:
        """Raises UniqueViolation("uq_organizations_name") when the name is taken."""
        self.session.add(organization)
        await flush_unique(self.session)
        await self.session.refresh(organization)
        return organization

    async def get(self, organization_id: UUID) -> Organization | None:
        return await self.session.get(Organization, organization_id)

    async def list(
        self, page: PageRequest, *, kind: OrganizationKind | None
    ) -> tuple[list[Organization], str | None]:
        statement = select(Organization)
        if kind is not None:
            statement = statement.where(col(Organization.kind) == kind)
        return await paginate(self.session, statement, col(Organization.id), page, page.after_id())
