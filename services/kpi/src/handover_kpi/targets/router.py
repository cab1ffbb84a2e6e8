from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response

from handover_kit.auth import CurrentPrincipal, require
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_kpi.clients.engagements import Engagements
from handover_kpi.metrics.repository import MetricRepository
from handover_kpi.targets.repository import TargetRepository
from handover_kpi.targets.schemas import TargetCreate, TargetPage, TargetRead, TargetUpdate
from handover_kpi.targets.service import TargetService
from handover_shared.auth import Scope
from handover_shared.kpi import METRIC_KEY_MAX_LENGTH, METRIC_KEY_PATTERN

router = APIRouter(prefix="/v1/targets", tags=["targets"])


async def _service(session: Session, engagements: Engagements) -> TargetService:
    return TargetService(TargetRepository(session), MetricRepository(session), engagements)


Service = Annotated[TargetService, Depends(_service)]
TargetId = Annotated[UUID, Path(description="The target's `id`.")]


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    summary="Set a target for one of an engagement's metrics",
    description="The engagement must exist in the engagements service and be the caller's; if "
    "that service cannot be asked, the answer is 503. The metric must be in the catalog. "
    "Targets with source `sla` come from the engagement's SLAs, not from here.",
    responses=problem_responses(401, 403, 422, 503),
    dependencies=[require(Scope.KPI_WRITE)],
)
async def create_target(
    data: TargetCreate, service: Service, principal: CurrentPrincipal, response: Response
) -> TargetRead:
    target = await service.create(data, principal)
    response.headers["Location"] = f"{router.prefix}/{target.id}"
    return TargetRead.model_validate(target)


@router.get(
    "",
    summary="List targets",
    description="Manual and SLA targets of the caller's engagements, past and future ones "
    "included, oldest first.",
    responses=problem_responses(401, 403, 422),
    dependencies=[require(Scope.KPI_READ)],
)
async def list_targets(
    service: Service,
    page: PageParams,
    engagement_id: Annotated[UUID | None, Query(description="Only this engagement's.")] = None,
    metric_key: Annotated[
        str | None,
        Query(
            max_length=METRIC_KEY_MAX_LENGTH,
            pattern=METRIC_KEY_PATTERN,
            description="Only targets on this metric.",
        ),
    ] = None,
) -> TargetPage:
    items, cursor = await service.list(page, engagement_id=engagement_id, metric_key=metric_key)
    return TargetPage(items=[TargetRead.model_validate(item) for item in items], next_cursor=cursor)


@router.get(
    "/{target_id}",
    summary="Get a target",
    description="A target of one of the caller's engagements.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.KPI_READ)],
)
async def get_target(target_id: TargetId, service: Service) -> TargetRead:
    return TargetRead.model_validate(await service.get(target_id))


@router.patch(
    "/{target_id}",
    summary="Change a target",
    description="Changes the fields given. An SLA's target is changed through its SLA in the "
    "engagements service: here it is a 409.",
    responses=problem_responses(401, 403, 404, 409, 422),
    dependencies=[require(Scope.KPI_WRITE)],
)
async def update_target(target_id: TargetId, data: TargetUpdate, service: Service) -> TargetRead:
    return TargetRead.model_validate(await service.update(target_id, data))


@router.delete(
    "/{target_id}",
    status_code=HTTPStatus.NO_CONTENT,
    summary="Remove a target",
    description="To keep the record of a target that no longer applies, set its "
    "`effective_to` instead. An SLA's target goes when its SLA is removed: here it is a 409.",
    responses=problem_responses(401, 403, 404, 409, 422),
    dependencies=[require(Scope.KPI_WRITE)],
)
async def delete_target(target_id: TargetId, service: Service) -> Response:
    await service.delete(target_id)
    return Response(status_code=HTTPStatus.NO_CONTENT)
