from sqlmodel import col

from handover_engagements.organizations.models import Organization
from handover_engagements.organizations.schemas import OrganizationKind
from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository


class OrganizationRepository(Repository[Organization]):
    model = Organization

    async def list(
        self, page: PageRequest, *, kind: OrganizationKind | None
    ) -> tuple[list[Organization], str | None]:
        return await self.page(
            page,
            key=col(Organization.id),
            after=page.after_id(),
            equal={col(Organization.kind): kind},
        )
