from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response

from handover_kit.auth import CurrentPrincipal, require
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope
from handover_talent.clients.engagements import Engagements
from handover_talent.db import MESSAGING
from handover_talent.requisitions.repository import RequisitionRepository
from handover_talent.requisitions.schemas import (
    RequisitionCreate,
    RequisitionPage,
    RequisitionRead,
    RequisitionStatus,
)
from handover_talent.requisitions.service import RequisitionService

router = APIRouter(prefix="/v1/requisitions", tags=["requisitions"])


def _service(session: Session, engagements: Engagements) -> RequisitionService:
    return RequisitionService(
        RequisitionRepository(session), engagements, MESSAGING.publisher(session, source="talent")
    )


Service = Annotated[RequisitionService, Depends(_service)]


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    summary="Open a requisition for an engagement's team",
    description="A new requisition starts as a `draft`. The engagement must exist in the "
    "engagements service; if that service cannot be asked, the answer is 503.",
    responses=problem_responses(401, 403, 422, 503),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def create_requisition(
    data: RequisitionCreate, service: Service, principal: CurrentPrincipal, response: Response
) -> RequisitionRead:
    requisition = await service.create(data, principal)
    response.headers["Location"] = f"{router.prefix}/{requisition.id}"
    return RequisitionRead.model_validate(requisition)


@router.get(
    "",
    summary="List requisitions",
    responses=problem_responses(401, 403, 422),
    dependencies=[require(Scope.TALENT_READ)],
)
async def list_requisitions(
    service: Service,
    page: PageParams,
    engagement_id: Annotated[UUID | None, Query(description="Only this engagement's.")] = None,
    status: Annotated[
        RequisitionStatus | None, Query(description="Only those in this status.")
    ] = None,
) -> RequisitionPage:
    items, cursor = await service.list(page, engagement_id=engagement_id, status=status)
    return RequisitionPage(
        items=[RequisitionRead.model_validate(item) for item in items], next_cursor=cursor
    )


@router.get(
    "/{requisition_id}",
    summary="Get a requisition",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.TALENT_READ)],
)
async def get_requisition(
    requisition_id: Annotated[UUID, Path(description="The requisition's `id`.")],
    service: Service,
) -> RequisitionRead:
    return RequisitionRead.model_validate(await service.get(requisition_id))
