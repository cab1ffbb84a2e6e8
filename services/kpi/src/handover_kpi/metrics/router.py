from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from handover_kit.auth import require
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_kpi.metrics.repository import MetricRepository
from handover_kpi.metrics.schemas import (
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    MetricCreate,
    MetricPage,
    MetricRead,
)
from handover_kpi.metrics.service import MetricService
from handover_shared.auth import Scope

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])


async def _service(session: Session) -> MetricService:
    return MetricService(MetricRepository(session))


Service = Annotated[MetricService, Depends(_service)]


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    summary="Add a custom metric to the catalog",
    description="The catalog is one for the whole platform, so only platform administrators "
    "add to it: a key then means the same in every engagement, for SLAs, targets, series and "
    "exports alike. Keys are lowercase snake case and never change; a key in use is a 409.",
    responses=problem_responses(401, 403, 409, 422),
    dependencies=[require(Scope.PLATFORM_ADMIN)],
)
async def create_metric(data: MetricCreate, service: Service, response: Response) -> MetricRead:
    metric = await service.create(data)
    response.headers["Location"] = f"{router.prefix}/{metric.key}"
    return MetricRead.model_validate(metric)


@router.get(
    "",
    summary="List the metric catalog",
    description="Built-in and custom metrics, ordered by key.",
    responses=problem_responses(401, 403, 422),
    dependencies=[require(Scope.KPI_READ)],
)
async def list_metrics(service: Service, page: PageParams) -> MetricPage:
    items, cursor = await service.list(page)
    return MetricPage(items=[MetricRead.model_validate(item) for item in items], next_cursor=cursor)


@router.get(
    "/{metric_key}",
    summary="Get a metric",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.KPI_READ)],
)
async def get_metric(
    metric_key: Annotated[
        str,
        Path(max_length=KEY_MAX_LENGTH, pattern=KEY_PATTERN, description="The metric's `key`."),
    ],
    service: Service,
) -> MetricRead:
    return MetricRead.model_validate(await service.get(metric_key))
