from uuid import UUID

from handover_engagements.engagements.models import Engagement
from handover_engagements.engagements.repository import EngagementRepository
from handover_engagements.engagements.schemas import DeliveryModel, EngagementCreate, Phase
from handover_engagements.errors import EngagementNotFound, InvalidEngagementParties
from handover_engagements.organizations.repository import OrganizationRepository
from handover_engagements.organizations.schemas import OrganizationKind
from handover_kit.pagination import PageRequest


class EngagementService:
    def __init__(
        self, repository: EngagementRepository, organizations: OrganizationRepository
    ) -> None:
        self.repository = repository
        self.organizations = organizations

    async def create(self, data: EngagementCreate) -> Engagement:
        await self._require_kind(data.client_id, OrganizationKind.CLIENT, "client_id")
        await self._require_kind(data.partner_id, OrganizationKind.PARTNER, "partner_id")
        return await self.repository.add(Engagement(**data.model_dump(), phase=Phase.BUILD))

    async def get(self, engagement_id: UUID) -> Engagement:
        engagement = await self.repository.get(engagement_id)
        if engagement is None:
            raise EngagementNotFound(f"There is no engagement {engagement_id}.")
        return engagement

    async def list(
        self,
        page: PageRequest,
        *,
        client_id: UUID | None = None,
        partner_id: UUID | None = None,
        phase: Phase | None = None,
        delivery_model: DeliveryModel | None = None,
    ) -> tuple[list[Engagement], str | None]:
        return await self.repository.list(
            page,
            client_id=client_id,
            partner_id=partner_id,
            phase=phase,
            delivery_model=delivery_model,
        )

    async def _require_kind(
        self, organization_id: UUID, kind: OrganizationKind, field: str
    ) -> None:
        organization = await self.organizations.get(organization_id)
        if organization is None:
            raise InvalidEngagementParties(
                f"{field} names no organization.",
                errors=[
                    {"loc": ["body", field], "msg": "No such organization", "type": "not_found"}
                ],
            )
        if organization.kind != kind:
            raise InvalidEngagementParties(
                f"{field} must name a {kind} organization, not a {organization.kind}.",
                errors=[{"loc": ["body", field], "msg": f"Must be a {kind}", "type": "wrong_kind"}],
            )
