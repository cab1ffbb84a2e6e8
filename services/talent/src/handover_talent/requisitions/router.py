from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response

from handover_kit.auth import CurrentPrincipal, require
from handover_kit.concurrency import IfMatch, set_etag
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope
from handover_talent.clients.engagements import Engagements
from handover_talent.db import MESSAGING
from handover_talent.deps import EngagementFilter
from handover_talent.requisitions.models import Requisition
from handover_talent.requisitions.repository import RequisitionRepository
from handover_talent.requisitions.schemas import (
    RequisitionCreate,
    RequisitionPage,
    RequisitionRead,
    RequisitionStatus,
    RequisitionTransition,
    RequisitionUpdate,
)
from handover_talent.requisitions.service import RequisitionService

router = APIRouter(prefix="/v1/requisitions", tags=["requisitions"])

RequisitionId = Annotated[UUID, Path(description="The requisition's `id`.")]


async def _service(session: Session, engagements: Engagements) -> RequisitionService:
    return RequisitionService(
        RequisitionRepository(session), engagements, MESSAGING.publisher(session, source="talent")
    )


Service = Annotated[RequisitionService, Depends(_service)]


async def _read(service: RequisitionService, requisition: Requisition) -> RequisitionRead:
    hired = await service.hired([requisition])
    return _with_hired(requisition, hired)


def _with_hired(requisition: Requisition, hired: dict[UUID, int]) -> RequisitionRead:
    return RequisitionRead.model_validate(
        {**requisition.model_dump(), "hired": hired.get(requisition.id, 0)}
    )


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    summary="Create a requisition for an engagement's team",
    description="A new requisition starts as a `draft`; it opens through its transitions. The "
    "engagement must exist in the engagements service; if that service cannot be asked, the "
    "answer is 503.",
    responses=problem_responses(401, 403, 409, 422, 503),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def create_requisition(
    data: RequisitionCreate, service: Service, principal: CurrentPrincipal, response: Response
) -> RequisitionRead:
    requisition = await service.create(data, principal)
    response.headers["Location"] = f"{router.prefix}/{requisition.id}"
    set_etag(response, requisition.version)
    return await _read(service, requisition)


@router.get(
    "",
    summary="List requisitions",
    description="Oldest first.",
    responses=problem_responses(401, 403, 422),
    dependencies=[require(Scope.TALENT_READ)],
)
async def list_requisitions(
    service: Service,
    page: PageParams,
    engagement_id: EngagementFilter = None,
    status: Annotated[
        RequisitionStatus | None, Query(description="Only those in this status.")
    ] = None,
) -> RequisitionPage:
    items, cursor = await service.list(page, engagement_id=engagement_id, status=status)
    hired = await service.hired(items)
    return RequisitionPage(items=[_with_hired(item, hired) for item in items], next_cursor=cursor)


@router.get(
    "/{requisition_id}",
    summary="Get a requisition",
    description="The `ETag` header holds its version, for `If-Match` on a change.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.TALENT_READ)],
)
async def get_requisition(
    requisition_id: RequisitionId, service: Service, response: Response
) -> RequisitionRead:
    requisition = await service.get(requisition_id)
    set_etag(response, requisition.version)
    return await _read(service, requisition)


@router.patch(
    "/{requisition_id}",
    summary="Change a requisition",
    description="Head count, role, target start, title or the HRIS job id; fields left out keep "
    "their value. `If-Match` must hold the `ETag` last read (412 otherwise). Raising the head "
    "count of a filled requisition opens it again; lowering it to the hires fills it.",
    responses=problem_responses(404, 409, 412, 422, 428),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def update_requisition(
    requisition_id: RequisitionId,
    data: RequisitionUpdate,
    if_match: IfMatch,
    service: Service,
    response: Response,
) -> RequisitionRead:
    requisition = await service.update(requisition_id, data, if_match)
    set_etag(response, requisition.version)
    return await _read(service, requisition)


@router.post(
    "/{requisition_id}/transitions",
    summary="Move a requisition to another status",
    description="draft -> open | cancelled; open -> on_hold | cancelled; on_hold -> open | "
    "cancelled; filled -> cancelled. `filled` follows the hires. Opening needs a role with "
    "responsibilities and success criteria (422 naming what is missing) and an engagement whose "
    "phase hires (409), as the engagements service says (503 if it cannot be asked). Another "
    "move answers 409 listing the allowed ones.",
    responses=problem_responses(404, 409, 422, 503),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def transition_requisition(
    requisition_id: RequisitionId,
    data: RequisitionTransition,
    service: Service,
    principal: CurrentPrincipal,
    response: Response,
) -> RequisitionRead:
    requisition = await service.transition(requisition_id, data.status, principal)
    set_etag(response, requisition.version)
    return await _read(service, requisition)
