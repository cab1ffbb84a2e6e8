from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status

from handover_engagements.engagements.repository import EngagementRepository
from handover_engagements.engagements.schemas import (
    DeliveryModel,
    EngagementCreate,
    EngagementPage,
    EngagementRead,
    Phase,
)
from handover_engagements.engagements.service import EngagementService
from handover_engagements.organizations.repository import OrganizationRepository
from handover_kit.auth import ServiceCaller, require
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope

router = APIRouter(prefix="/v1/engagements", tags=["engagements"])
internal_router = APIRouter(
    prefix="/internal/v1/engagements", include_in_schema=False, dependencies=[ServiceCaller]
)


def _service(session: Session) -> EngagementService:
    return EngagementService(EngagementRepository(session), OrganizationRepository(session))


Service = Annotated[EngagementService, Depends(_service)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Start an engagement between a client and a partner",
    description="A new engagement starts in the `build` phase. Platform administrators only.",
    responses=problem_responses(401, 403, 422),
    dependencies=[require(Scope.PLATFORM_ADMIN)],
)
async def create_engagement(
    data: EngagementCreate, service: Service, response: Response
) -> EngagementRead:
    engagement = await service.create(data)
    response.headers["Location"] = f"{router.prefix}/{engagement.id}"
    return EngagementRead.model_validate(engagement)


@router.get(
    "",
    summary="List engagements",
    description="Only those the caller may see: their organization's, as client or partner.",
    responses=problem_responses(401, 403, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def list_engagements(
    service: Service,
    page: PageParams,
    client_id: Annotated[UUID | None, Query(description="Only this client's.")] = None,
    partner_id: Annotated[UUID | None, Query(description="Only this partner's.")] = None,
    phase: Annotated[Phase | None, Query(description="Only those in this phase.")] = None,
    delivery_model: Annotated[
        DeliveryModel | None, Query(description="Only those under this model.")
    ] = None,
) -> EngagementPage:
    items, cursor = await service.list(
        page,
        client_id=client_id,
        partner_id=partner_id,
        phase=phase,
        delivery_model=delivery_model,
    )
    return EngagementPage(
        items=[EngagementRead.model_validate(item) for item in items], next_cursor=cursor
    )


@router.get(
    "/{engagement_id}",
    summary="Get an engagement",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def get_engagement(
    engagement_id: Annotated[UUID, Path(description="The engagement's `id`.")], service: Service
) -> EngagementRead:
    return EngagementRead.model_validate(await service.get(engagement_id))


@internal_router.get("/{engagement_id}")
async def get_engagement_for_service(engagement_id: UUID, service: Service) -> EngagementRead:
    return EngagementRead.model_validate(await service.get(engagement_id))
