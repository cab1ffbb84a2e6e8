import csv
import io
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from handover_kit.auth import CurrentPrincipal, require
from handover_kit.db import Session, Tenancy, database
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_kpi.clients.engagements import Engagements
from handover_kpi.config import Settings
from handover_kpi.points.http import Instant, conditional, conditional_responses
from handover_kpi.points.models import DataPoint
from handover_kpi.points.repository import PointFilter, PointRepository
from handover_kpi.points.schemas import (
    DIMENSIONS,
    ChangeFeed,
    ChangeKind,
    ChangeRead,
    ExportFormat,
    IngestResult,
    PointBatch,
    PointPage,
    PointRead,
    RevisionPage,
    RevisionRead,
)
from handover_kpi.points.service import PointService, encode_position
from handover_shared.auth import Scope
from handover_shared.kpi import METRIC_KEY_MAX_LENGTH, METRIC_KEY_PATTERN

PREFIX = "/v1/data-points"
NDJSON_PATH = f"{PREFIX}/ndjson"
CSV_PATH = f"{PREFIX}/csv"
BULK_PATHS = (NDJSON_PATH, CSV_PATH)
"""The uploads that stream their body, and so may be larger than other requests."""

router = APIRouter(prefix=PREFIX, tags=["data points"])

CSV_EXAMPLE = (
    "engagement_id,metric_key,at,value,unit,team,source\n"
    "0193a5c0-7b1e-7c00-8000-00000000e001,quality_score,2026-11-01T00:00:00Z,93.5,percent,"
    "claims,qa-export\n"
)
NDJSON_EXAMPLE = (
    '{"engagement_id":"0193a5c0-7b1e-7c00-8000-00000000e001","metric_key":"quality_score",'
    '"at":"2026-11-01T00:00:00Z","value":93.5,"dimensions":{"team":"claims"}}\n'
)
NDJSON_EXPORT = (
    '{"id":"0193a5c0-7b1e-7c00-8000-0000000d0001","engagement_id":'
    '"0193a5c0-7b1e-7c00-8000-00000000e001","metric_key":"quality_score",'
    '"at":"2026-11-01T00:00:00Z","dimensions":{"team":"claims"},"value":93.5,'
    '"source":"qa-export","revision":1,"created_at":"2026-11-02T08:00:00Z",'
    '"updated_at":"2026-11-02T08:00:00Z"}\n'
)
INGESTION = (
    "Each line is checked on its own: an unknown metric or engagement (or one that is not "
    "the caller's), a value that is not a finite number, a unit other than the metric's, a "
    "timestamp too far in the future or a malformed line is rejected, with its line number, "
    "field and reason, and does not hold back the other lines. Good lines are written together "
    "once the whole body has been read, so a request never commits part of its good lines. "
    "Points are keyed by engagement, metric, `at` and dimensions: sending a point again changes "
    "nothing; sending another value corrects it and keeps the old one as a revision. When every "
    "line is rejected, nothing is written and the answer is a 422 problem with the same counts "
    "and errors (as `line_errors`)."
)
BULK = (
    " The body is read as a stream and copied into the database as it arrives: memory stays "
    "flat whatever its size, and uploads may be far larger than other requests."
)


def settings_of(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


async def _service(
    session: Session, engagements: Engagements, principal: CurrentPrincipal, request: Request
) -> PointService:
    return PointService(session, engagements, principal, settings_of(request))


Service = Annotated[PointService, Depends(_service)]
PointId = Annotated[UUID, Path(description="The data point's `id`.")]
EngagementFilter = Annotated[UUID | None, Query(description="Only this engagement's points.")]
MetricFilter = Annotated[
    str | None,
    Query(
        max_length=METRIC_KEY_MAX_LENGTH,
        pattern=METRIC_KEY_PATTERN,
        description="Only points of this metric.",
    ),
]
FromFilter = Annotated[
    Instant | None, Query(alias="from", description="Only points at or after this instant.")
]
ToFilter = Annotated[
    Instant | None, Query(alias="to", description="Only points before this instant.")
]


def _bulk_body(media_type: str, example: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": {"type": "string"}, "example": example}},
        }
    }


@router.post(
    "",
    summary="Send data points as a JSON batch",
    description="Up to 1,000 points in one JSON body; more go through the NDJSON or CSV "
    f"upload. {INGESTION}",
    responses=problem_responses(401, 403, 413, 422, 503),
    dependencies=[require(Scope.KPI_WRITE)],
)
async def ingest_points(batch: PointBatch, service: Service) -> IngestResult:
    return await service.ingest_json(batch.points)


@router.post(
    "/ndjson",
    summary="Stream data points as NDJSON",
    description="One JSON object per line (`application/x-ndjson`), with the fields of a "
    f"point of the JSON batch. {INGESTION}{BULK}",
    responses=problem_responses(401, 403, 413, 422, 503),
    dependencies=[require(Scope.KPI_WRITE)],
    openapi_extra=_bulk_body("application/x-ndjson", NDJSON_EXAMPLE),
)
async def ingest_ndjson(request: Request, service: Service) -> IngestResult:
    return await service.ingest_ndjson(request.stream())


@router.post(
    "/csv",
    summary="Upload data points as CSV",
    description="UTF-8 CSV (`text/csv`), one point per line (a quoted field holds no line "
    "break), after a header line naming the "
    "columns: `engagement_id`, `metric_key`, `at`, `value`, and optionally `unit`, `role`, "
    "`team`, `site`, `source`. A header that is not one is a 422 and nothing is written. "
    f"{INGESTION}{BULK}",
    responses=problem_responses(401, 403, 413, 422, 503),
    dependencies=[require(Scope.KPI_WRITE)],
    openapi_extra=_bulk_body("text/csv", CSV_EXAMPLE),
)
async def ingest_csv(request: Request, service: Service) -> IngestResult:
    return await service.ingest_csv(request.stream())


@router.get(
    "",
    summary="List data points",
    description="The caller's engagements' points, in the order they were first stored. "
    "Answers an `ETag`; `If-None-Match` with it answers 304 while the page is unchanged.",
    responses={
        **conditional_responses(PointPage),
        **problem_responses(401, 403, 422),
    },
    response_model=PointPage,
    dependencies=[require(Scope.KPI_READ)],
)
async def list_points(
    request: Request,
    service: Service,
    page: PageParams,
    engagement_id: EngagementFilter = None,
    metric_key: MetricFilter = None,
    at_from: FromFilter = None,
    at_to: ToFilter = None,
) -> Response:
    filters = PointFilter(engagement_id, metric_key, at_from, at_to)
    items, cursor = await service.page(filters, page)
    return conditional(
        request,
        PointPage(items=[PointRead.model_validate(item) for item in items], next_cursor=cursor),
    )


@router.get(
    "/changes",
    summary="Pull the changes to data points since a cursor",
    description="Every insert and every correction of the caller's points, each once, oldest "
    "first. Start without a cursor, then pass `next_cursor` each time (keep it between runs): "
    "changes written concurrently are never skipped, because only changes of transactions "
    "that can no longer commit are shown: a change becomes visible once every write that began "
    "before it has ended (a long upload holds back what was written after it began). Answers "
    "an `ETag` for `If-None-Match`.",
    responses={
        **conditional_responses(ChangeFeed),
        **problem_responses(401, 403, 422),
    },
    response_model=ChangeFeed,
    dependencies=[require(Scope.KPI_READ)],
)
async def pull_changes(
    request: Request, service: Service, page: PageParams, engagement_id: EngagementFilter = None
) -> Response:
    changes, position = await service.changes(page.after, engagement_id, page.limit)
    feed = ChangeFeed(
        items=[
            ChangeRead(
                kind=ChangeKind.INSERTED if change.revision == 1 else ChangeKind.CORRECTED,
                point_id=change.point_id,
                engagement_id=change.engagement_id,
                metric_key=change.metric_key,
                at=change.at,
                dimensions=change.dimensions,
                revision=change.revision,
                value=change.value,
                source=change.source,
                recorded_at=change.recorded_at,
            )
            for change in changes
        ],
        next_cursor=encode_position(position),
    )
    return conditional(request, feed)


@router.get(
    "/export",
    summary="Export data points as CSV or NDJSON",
    description="Every point the filters select, in the order they were first stored, "
    "streamed as a file (`Content-Disposition: attachment`). CSV has the columns of the CSV "
    "upload, so an export can be sent back unchanged; NDJSON has one point per line as the "
    "list shows it.",
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
                "application/x-ndjson": {"schema": {"type": "string"}, "example": NDJSON_EXPORT},
            },
            "description": "The points, as a file.",
        },
        **problem_responses(401, 403, 422),
    },
    response_class=StreamingResponse,
    dependencies=[require(Scope.KPI_READ)],
)
async def export_points(
    request: Request,
    principal: CurrentPrincipal,
    export_format: Annotated[
        ExportFormat, Query(alias="format", description="`csv` or `ndjson`.")
    ] = ExportFormat.CSV,
    engagement_id: EngagementFilter = None,
    metric_key: MetricFilter = None,
    at_from: FromFilter = None,
    at_to: ToFilter = None,
) -> StreamingResponse:
    filters = PointFilter(engagement_id, metric_key, at_from, at_to)
    tenancy = Tenancy.of(principal)
    db = database(request)

    async def points() -> AsyncIterator[DataPoint]:
        # Its own transaction: the request's ends when the handler returns, before the stream.
        async with db.session(tenancy) as session, session.begin():
            async for point in PointRepository(session).stream(filters):
                yield point

    if export_format is ExportFormat.CSV:
        body, media_type = _csv(points()), "text/csv; charset=utf-8"
    else:
        body, media_type = _ndjson(points()), "application/x-ndjson"
    return StreamingResponse(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="data-points.{export_format.value}"'
        },
    )


CSV_COLUMNS = ("engagement_id", "metric_key", "at", "value", *DIMENSIONS, "source")


async def _csv(points: AsyncIterator[DataPoint]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    async for point in points:
        writer.writerow(
            (
                point.engagement_id,
                point.metric_key,
                point.at.isoformat(),
                repr(point.value),
                *(point.dimensions.get(name, "") for name in DIMENSIONS),
                point.source,
            )
        )
        if buffer.tell() >= 65_536:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def _ndjson(points: AsyncIterator[DataPoint]) -> AsyncIterator[bytes]:
    chunk: list[bytes] = []
    async for point in points:
        chunk.append(PointRead.model_validate(point).model_dump_json().encode() + b"\n")
        if len(chunk) >= 500:
            yield b"".join(chunk)
            chunk = []
    yield b"".join(chunk)


@router.get(
    # Only a UUID names a point: the other paths under the prefix are never taken for one.
    "/{point_id:uuid}",
    summary="Get a data point",
    description="Its current value and revision. Answers an `ETag` for `If-None-Match`.",
    responses={
        **conditional_responses(PointRead),
        **problem_responses(401, 403, 404, 422),
    },
    response_model=PointRead,
    dependencies=[require(Scope.KPI_READ)],
)
async def get_point(request: Request, point_id: PointId, service: Service) -> Response:
    return conditional(request, PointRead.model_validate(await service.get(point_id)))


@router.get(
    "/{point_id:uuid}/revisions",
    summary="List a data point's revisions",
    description="Every value the point has had, the first one first: the history its "
    "corrections kept. Answers an `ETag` for `If-None-Match`.",
    responses={
        **conditional_responses(RevisionPage),
        **problem_responses(401, 403, 404, 422),
    },
    response_model=RevisionPage,
    dependencies=[require(Scope.KPI_READ)],
)
async def list_point_revisions(
    request: Request, point_id: PointId, service: Service, page: PageParams
) -> Response:
    items, cursor = await service.revisions(point_id, page)
    return conditional(
        request,
        RevisionPage(
            items=[RevisionRead.model_validate(item) for item in items], next_cursor=cursor
        ),
    )
