from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from handover_kit.auth import require
from handover_kit.db import Reads
from handover_kit.errors import problem_responses
from handover_kpi.points.http import Instant, conditional, conditional_responses
from handover_kpi.series.repository import SeriesRows
from handover_kpi.series.schemas import Granularity, SeriesSet
from handover_kpi.series.service import SeriesService
from handover_shared.auth import Scope
from handover_shared.kpi import METRIC_KEY_MAX_LENGTH, METRIC_KEY_PATTERN

router = APIRouter(prefix="/v1/series", tags=["series"], dependencies=[require(Scope.KPI_READ)])

DIMENSION = {"max_length": 100, "pattern": r"^[^\x00]+$"}


@router.get(
    "",
    summary="Read metrics as time series",
    description="For each metric and engagement asked for, the data points over `[from, to)` "
    "grouped into UTC days, ISO weeks, months or quarters and combined by the metric's "
    "aggregation (`ratio` metrics: the mean of the ratios; `last`: the latest point of the "
    "period). `role`, `team` and `site` keep the points for that dimension only; without them "
    "all points count. Only engagements and metrics with data in the range have a series; "
    "engagements that are not the caller's have none, like ones without data. Answers an "
    "`ETag` for `If-None-Match`.",
    responses={
        **conditional_responses(SeriesSet),
        **problem_responses(401, 403, 422),
    },
    response_model=SeriesSet,
)
async def read_series(
    request: Request,
    reads: Reads,
    metric_key: Annotated[
        list[Annotated[str, Query(max_length=METRIC_KEY_MAX_LENGTH, pattern=METRIC_KEY_PATTERN)]],
        Query(min_length=1, max_length=20, description="Metrics, repeated for several."),
    ],
    engagement_id: Annotated[
        list[UUID],
        Query(min_length=1, max_length=50, description="Engagements, repeated for several."),
    ],
    at_from: Annotated[Instant, Query(alias="from", description="The first instant included.")],
    at_to: Annotated[Instant, Query(alias="to", description="The first instant excluded.")],
    granularity: Annotated[
        Granularity, Query(description="The length of a period.")
    ] = Granularity.MONTH,
    role: Annotated[
        str | None, Query(description="Only points for this role.", **DIMENSION)
    ] = None,
    team: Annotated[
        str | None, Query(description="Only points for this team.", **DIMENSION)
    ] = None,
    site: Annotated[
        str | None, Query(description="Only points for this site.", **DIMENSION)
    ] = None,
) -> Response:
    dimensions = {
        name: value
        for name, value in (("role", role), ("team", team), ("site", site))
        if value is not None
    }
    async with reads() as connection:
        series = await SeriesService(SeriesRows(connection)).read(
            metric_key, engagement_id, granularity, at_from, at_to, dimensions
        )
    return conditional(request, series)
