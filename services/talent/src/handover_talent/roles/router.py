from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Response

from handover_kit.auth import CurrentPrincipal, require
from handover_kit.concurrency import IfMatch, set_etag
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope
from handover_talent.clients.engagements import Engagements
from handover_talent.deps import EngagementFilter
from handover_talent.roles.models import Role
from handover_talent.roles.repository import RoleRepository
from handover_talent.roles.schemas import RoleCreate, RolePage, RoleRead, RoleUpdate
from handover_talent.roles.service import RoleService, missing_for_hiring

router = APIRouter(prefix="/v1/roles", tags=["roles"])

RoleId = Annotated[UUID, Path(description="The role's `id`.")]


async def _service(session: Session, engagements: Engagements) -> RoleService:
    return RoleService(RoleRepository(session), engagements)


Service = Annotated[RoleService, Depends(_service)]


def role_read(role: Role) -> RoleRead:
    return RoleRead.model_validate(
        {**role.model_dump(), "ready_to_hire": not missing_for_hiring(role)}
    )


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    summary="Define a role in an engagement's team",
    description="Title, function, seniority, location, an optional salary band (currency, "
    "min <= max), responsibilities and success criteria. A role may be drafted without the last "
    "two, but no requisition for it opens until both are written.",
    responses=problem_responses(422, 503),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def create_role(
    data: RoleCreate, service: Service, principal: CurrentPrincipal, response: Response
) -> RoleRead:
    role = await service.create(data, principal)
    response.headers["Location"] = f"{router.prefix}/{role.id}"
    set_etag(response, role.version)
    return role_read(role)


@router.get(
    "",
    summary="List role definitions",
    description="Oldest first.",
    responses=problem_responses(422),
    dependencies=[require(Scope.TALENT_READ)],
)
async def list_roles(
    service: Service,
    page: PageParams,
    engagement_id: EngagementFilter = None,
) -> RolePage:
    items, cursor = await service.list(page, engagement_id=engagement_id)
    return RolePage(items=[role_read(item) for item in items], next_cursor=cursor)


@router.get(
    "/{role_id}",
    summary="Get a role definition",
    description="The `ETag` header holds its version, for `If-Match` on a change.",
    responses=problem_responses(404),
    dependencies=[require(Scope.TALENT_READ)],
)
async def get_role(role_id: RoleId, service: Service, response: Response) -> RoleRead:
    role = await service.get(role_id)
    set_etag(response, role.version)
    return role_read(role)


@router.patch(
    "/{role_id}",
    summary="Change a role definition",
    description="Fields left out keep their value. `If-Match` must hold the `ETag` last read: "
    "a change to a role that moved on since is refused with 412.",
    responses=problem_responses(404, 412, 422, 428),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def update_role(
    role_id: RoleId, data: RoleUpdate, if_match: IfMatch, service: Service, response: Response
) -> RoleRead:
    role = await service.update(role_id, data, if_match)
    set_etag(response, role.version)
    return role_read(role)
