from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status

from handover_engagements.access.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    ApiKeyRead,
    MembershipCreate,
    MembershipPage,
    MembershipRead,
)
from handover_engagements.access.service import AccessService
from handover_kit.auth import CurrentPrincipal, require
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope

router = APIRouter(dependencies=[require(Scope.ORGANIZATION_ADMIN)])

MEMBERSHIPS = "/v1/organizations/{organization_id}/memberships"
API_KEYS = "/v1/api-keys"

OrganizationId = Annotated[UUID, Path(description="The organization's `id`.")]
MembershipId = Annotated[UUID, Path(description="The membership's `id`.")]
ApiKeyId = Annotated[UUID, Path(description="The API key's `id`.")]


async def _service(session: Session) -> AccessService:
    return AccessService.of(session)


Service = Annotated[AccessService, Depends(_service)]


@router.post(
    MEMBERSHIPS,
    status_code=status.HTTP_201_CREATED,
    tags=["memberships"],
    summary="Grant a person a role in an organization",
    description="The person is named by their identity provider's issuer and subject; their "
    "tokens then act for this organization with the role's scopes. One membership per person.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_membership(
    organization_id: OrganizationId, data: MembershipCreate, service: Service, response: Response
) -> MembershipRead:
    membership = await service.add_member(organization_id, data)
    response.headers["Location"] = (
        f"/v1/organizations/{organization_id}/memberships/{membership.id}"
    )
    return MembershipRead.model_validate(membership)


@router.get(
    MEMBERSHIPS,
    tags=["memberships"],
    summary="List an organization's memberships",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_memberships(
    organization_id: OrganizationId, service: Service, page: PageParams
) -> MembershipPage:
    items, cursor = await service.list_members(organization_id, page)
    return MembershipPage(
        items=[MembershipRead.model_validate(item) for item in items], next_cursor=cursor
    )


@router.delete(
    MEMBERSHIPS + "/{membership_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["memberships"],
    summary="Remove a person's membership",
    description="Their tokens stop working within the directory refresh interval (seconds).",
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_membership(
    organization_id: OrganizationId, membership_id: MembershipId, service: Service
) -> None:
    await service.remove_member(organization_id, membership_id)


@router.post(
    API_KEYS,
    status_code=status.HTTP_201_CREATED,
    tags=["api-keys"],
    summary="Create an API key for a machine",
    description="The answer holds the key itself, this once; store it in a secret manager.",
    responses=problem_responses(401, 403, 422),
)
async def create_api_key(
    data: ApiKeyCreate, service: Service, principal: CurrentPrincipal, response: Response
) -> ApiKeyCreated:
    key, secret = await service.create_key(data, principal)
    response.headers["Location"] = f"{API_KEYS}/{key.id}"
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyCreated.model_validate(
        {**ApiKeyRead.model_validate(key).model_dump(), "key": secret}
    )


@router.get(
    API_KEYS, tags=["api-keys"], summary="List API keys", responses=problem_responses(401, 403, 422)
)
async def list_api_keys(
    service: Service,
    page: PageParams,
    organization_id: Annotated[UUID | None, Query(description="Only this organization's.")] = None,
) -> ApiKeyPage:
    items, cursor = await service.list_keys(page, organization_id)
    return ApiKeyPage(items=[ApiKeyRead.model_validate(item) for item in items], next_cursor=cursor)


@router.get(
    API_KEYS + "/{api_key_id}",
    tags=["api-keys"],
    summary="Get an API key (never the key itself)",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_api_key(api_key_id: ApiKeyId, service: Service) -> ApiKeyRead:
    return ApiKeyRead.model_validate(await service.get_key(api_key_id))


@router.delete(
    API_KEYS + "/{api_key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["api-keys"],
    summary="Revoke an API key",
    description="Every service refuses it within the directory refresh interval (seconds). "
    "Revoking a revoked key is not an error.",
    responses=problem_responses(401, 403, 404, 422),
)
async def revoke_api_key(api_key_id: ApiKeyId, service: Service) -> None:
    await service.revoke_key(api_key_id)
