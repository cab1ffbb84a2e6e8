from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Response, status

from handover_engagements.db import IDEMPOTENCY
from handover_engagements.entities.repository import LegalEntityRepository
from handover_engagements.entities.schemas import (
    LegalEntityCreate,
    LegalEntityPage,
    LegalEntityRead,
    LegalEntityUpdate,
)
from handover_engagements.entities.service import LegalEntityService
from handover_engagements.organizations.repository import OrganizationRepository
from handover_kit.auth import CurrentPrincipal, require
from handover_kit.concurrency import ETAG_RESPONSE, IfMatch, set_etag
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.idempotency import Created, IdempotencyKey
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope

router = APIRouter(prefix="/v1/organizations/{organization_id}/entities", tags=["legal-entities"])

OrganizationId = Annotated[UUID, Path(description="The organization's `id`.")]
EntityId = Annotated[UUID, Path(description="The legal entity's `id`.")]

_WRITE = [require(Scope.ENGAGEMENTS_WRITE, Scope.ORGANIZATION_ADMIN)]


async def _service(session: Session) -> LegalEntityService:
    return LegalEntityService(LegalEntityRepository(session), OrganizationRepository(session))


Service = Annotated[LegalEntityService, Depends(_service)]


def _read(response: Response, entity: object) -> LegalEntityRead:
    read = LegalEntityRead.model_validate(entity)
    set_etag(response, read.version)
    return read


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=LegalEntityRead,
    summary="Register a legal entity of an organization",
    description="A company the organization acts through in one country: the partner's "
    "employer of a team, or the client's entity in the destination country that a transfer "
    "moves the team into. A registration number is unique per country within the "
    "organization (409 otherwise). The organization's administrators, or platform "
    "administrators, only. Send an `Idempotency-Key` to make a retry safe.",
    responses={201: ETAG_RESPONSE, **problem_responses(401, 403, 404, 409, 422)},
    dependencies=_WRITE,
)
async def create_legal_entity(
    organization_id: OrganizationId,
    data: LegalEntityCreate,
    service: Service,
    principal: CurrentPrincipal,
    session: Session,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    async def create() -> Created:
        entity = await service.create(organization_id, data)
        location = f"/v1/organizations/{organization_id}/entities/{entity.id}"
        return Created(LegalEntityRead.model_validate(entity), location, entity.version)

    request = {"organization_id": str(organization_id), **data.model_dump(mode="json")}
    return await IDEMPOTENCY.create(session, principal, idempotency_key, request, create)


@router.get(
    "",
    summary="List an organization's legal entities",
    description="Oldest first. Members of the organization, and platform administrators.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def list_legal_entities(
    organization_id: OrganizationId, service: Service, page: PageParams
) -> LegalEntityPage:
    items, cursor = await service.list(organization_id, page)
    return LegalEntityPage(
        items=[LegalEntityRead.model_validate(item) for item in items], next_cursor=cursor
    )


@router.get(
    "/{entity_id}",
    summary="Get a legal entity",
    description="The `ETag` header holds its version, for a later `If-Match`.",
    responses={200: ETAG_RESPONSE, **problem_responses(401, 403, 404, 422)},
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def get_legal_entity(
    organization_id: OrganizationId, entity_id: EntityId, service: Service, response: Response
) -> LegalEntityRead:
    return _read(response, await service.get(organization_id, entity_id))


@router.patch(
    "/{entity_id}",
    summary="Change a legal entity",
    description="Only the fields sent change. `If-Match` must hold the `ETag` last read: 428 "
    "without it, 412 if the entity changed since. The organization's administrators, or "
    "platform administrators, only.",
    responses={200: ETAG_RESPONSE, **problem_responses(401, 403, 404, 409, 412, 422, 428)},
    dependencies=_WRITE,
)
async def update_legal_entity(
    organization_id: OrganizationId,
    entity_id: EntityId,
    data: LegalEntityUpdate,
    expected: IfMatch,
    service: Service,
    response: Response,
) -> LegalEntityRead:
    return _read(response, await service.update(organization_id, entity_id, data, expected))
