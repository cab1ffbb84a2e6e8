from uuid import UUID

from handover_engagements.errors import OrganizationNameTaken, OrganizationNotFound
from handover_engagements.organizations.models import Organization
from handover_engagements.organizations.repository import OrganizationRepository
from handover_engagements.organizations.schemas import OrganizationCreate, OrganizationKind
from handover_kit.db import UniqueViolation
from handover_kit.pagination import PageRequest


class OrganizationService:
    def __init__(self, repository: OrganizationRepository) -> None:
        self.repository = repository

    async def create(self, data: OrganizationCreate) -> Organization:
        try:
            return await self.repository.add(Organization(**data.model_dump()))
        except UniqueViolation:
            raise OrganizationNameTaken(
                f"An organization named {data.name!r} exists already.", name=data.name
            ) from None

    async def get(self, organization_id: UUID) -> Organization:
        organization = await self.repository.get(organization_id)
        if organization is None:
            raise OrganizationNotFound(f"There is no organization {organization_id}.")
        return organization

    async def list(
        self, page: PageRequest, *, kind: OrganizationKind | None
    ) -> tuple[list[Organization], str | None]:
        return await self.repository.list(page, kind=kind)
