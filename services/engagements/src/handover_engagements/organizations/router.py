from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status

from handover_engagements.organizations.repository import OrganizationRepository
from handover_engagements.organizations.schemas import (
    OrganizationCreate,
    OrganizationKind,
    OrganizationPage,
    OrganizationRead,
)
from handover_engagements.organizations.service import OrganizationService
from handover_kit.auth import require
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope

router = APIRouter(prefix="/v1/organizations", tags=["organizations"])


async def _service(session: Session) -> OrganizationService:
    return OrganizationService(OrganizationRepository(session))


Service = Annotated[OrganizationService, Depends(_service)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a client or partner organization",
    description="Names are unique: registering a taken name is a 409 conflict. Platform "
    "administrators only.",
    responses=problem_responses(401, 403, 409, 422),
    dependencies=[require(Scope.PLATFORM_ADMIN)],
)
async def create_organization(
    data: OrganizationCreate, service: Service, response: Response
) -> OrganizationRead:
    organization = await service.create(data)
    response.headers["Location"] = f"{router.prefix}/{organization.id}"
    return OrganizationRead.model_validate(organization)


@router.get(
    "",
    summary="List organizations",
    description="Only those the caller may see: their own, or all for platform administrators.",
    responses=problem_responses(401, 403, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def list_organizations(
    service: Service,
    page: PageParams,
    kind: Annotated[OrganizationKind | None, Query(description="Only this kind.")] = None,
) -> OrganizationPage:
    items, cursor = await service.list(page, kind=kind)
    return OrganizationPage(
        items=[OrganizationRead.model_validate(item) for item in items], next_cursor=cursor
    )


@router.get(
    "/{organization_id}",
    summary="Get an organization",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def get_organization(
    organization_id: Annotated[UUID, Path(description="The organization's `id`.")],
    service: Service,
) -> OrganizationRead:
    return OrganizationRead.model_validate(await service.get(organization_id))
