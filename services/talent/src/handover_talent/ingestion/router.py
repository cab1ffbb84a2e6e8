from datetime import datetime
from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.datastructures import Headers

from handover_kit.auth import CurrentPrincipal, require
from handover_kit.db import Session, database
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope
from handover_talent.clients.engagements import Engagements
from handover_talent.deps import EngagementFilter
from handover_talent.errors import SourceNotFound
from handover_talent.ingestion.models import HrisEvent, HrisSource
from handover_talent.ingestion.repository import Deliveries, EventRepository, SourceRepository
from handover_talent.ingestion.schemas import (
    EventStatus,
    HrisBatchItem,
    HrisBatchResult,
    HrisEventBatch,
    HrisEventPage,
    HrisEventRead,
    HrisReceipt,
    HrisSecretRotated,
    HrisSecretRotation,
    HrisSourceCreate,
    HrisSourceCreated,
    HrisSourcePage,
    HrisSourceRead,
)
from handover_talent.ingestion.secrets import SecretBox
from handover_talent.ingestion.service import (
    DeliveryService,
    IngestionService,
    SourceKeyCache,
    SourceService,
    utcnow,
)
from handover_talent.ingestion.wakeup import ProcessorWakeup

PREFIX = "/v1/hris"
router = APIRouter(prefix=PREFIX, tags=["hris"])
# Vendors' deliveries, the route called most: on a router of its own, listed first.
webhook_router = APIRouter()


async def secret_box(request: Request) -> SecretBox:
    box = request.app.state.hris_secrets
    assert isinstance(box, SecretBox)
    return box


Box = Annotated[SecretBox, Depends(secret_box)]


def _source_keys(request: Request) -> SourceKeyCache:
    kept = request.app.state.hris_source_keys
    assert isinstance(kept, SourceKeyCache)
    return kept


def _wakeup(request: Request) -> ProcessorWakeup:
    wakeup = request.app.state.hris_wakeup
    assert isinstance(wakeup, ProcessorWakeup)
    return wakeup


async def _sources(session: Session, box: Box) -> SourceService:
    return SourceService(SourceRepository(session), box)


async def _ingestion(session: Session, box: Box) -> IngestionService:
    return IngestionService(SourceRepository(session), EventRepository(session), box)


Sources = Annotated[SourceService, Depends(_sources)]
Ingestion = Annotated[IngestionService, Depends(_ingestion)]
SourceId = Annotated[UUID, Path(description="The HRIS source's `id`.")]


def _read(source: HrisSource) -> HrisSourceRead:
    return HrisSourceRead.model_validate(
        {**source.model_dump(), "webhook_path": f"{PREFIX}/sources/{source.id}/webhook"}
    )


@router.post(
    "/sources",
    status_code=HTTPStatus.CREATED,
    summary="Register an HRIS or ATS source for an engagement",
    description="The answer holds the signing secret, shown this once: for Standard Webhooks "
    "it is drawn here (`whsec_...`); for Greenhouse and Ashby it is the one the admin set in "
    "the vendor's UI and passes in `secret`. Secrets are stored encrypted. Point the vendor at "
    "`webhook_path`.",
    responses=problem_responses(401, 403, 422, 503),
    dependencies=[require(Scope.ORGANIZATION_ADMIN)],
)
async def create_hris_source(
    data: HrisSourceCreate,
    service: Sources,
    engagements: Engagements,
    principal: CurrentPrincipal,
    response: Response,
) -> HrisSourceCreated:
    source, secret = await service.create(data, principal, engagements)
    response.headers["Location"] = f"{PREFIX}/sources/{source.id}"
    return HrisSourceCreated.model_validate({**_read(source).model_dump(), "secret": secret})


@router.get(
    "/sources",
    summary="List HRIS sources",
    responses=problem_responses(401, 403, 422),
    dependencies=[require(Scope.ORGANIZATION_ADMIN)],
)
async def list_hris_sources(
    service: Sources,
    page: PageParams,
    engagement_id: EngagementFilter = None,
) -> HrisSourcePage:
    items, cursor = await service.list(page, engagement_id=engagement_id)
    return HrisSourcePage(items=[_read(item) for item in items], next_cursor=cursor)


@router.get(
    "/sources/{source_id}",
    summary="Get an HRIS source",
    description="Never its secrets.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ORGANIZATION_ADMIN)],
)
async def get_hris_source(source_id: SourceId, service: Sources) -> HrisSourceRead:
    return _read(await service.get(source_id))


@router.post(
    "/sources/{source_id}/secret-rotations",
    summary="Rotate an HRIS source's signing secret",
    description="The new secret is shown this once. The one it replaces stays valid for "
    "`overlap_hours` (24 by default), so deliveries signed before the vendor switched still "
    "pass; after that only the new one does.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ORGANIZATION_ADMIN)],
)
async def rotate_hris_secret(
    source_id: SourceId, data: HrisSecretRotation, service: Sources, request: Request
) -> HrisSecretRotated:
    source, secret = await service.rotate(source_id, data, utcnow())
    # Here at once; other instances let theirs go within the cache's few seconds.
    _source_keys(request).forget(source_id)
    assert source.previous_secret_expires_at is not None
    return HrisSecretRotated(
        source_id=source.id,
        secret=secret,
        previous_secret_expires_at=source.previous_secret_expires_at,
    )


async def receive_hris_delivery(request: Request) -> Response:
    """A vendor's delivery has no principal: its signature, checked against the source, is its
    credential. Stored as the service itself, committed before the answer."""
    source_id = _source_id(request.path_params["source_id"])
    body = await request.body()
    deliveries = Deliveries(database(request))
    service = DeliveryService(
        deliveries, await secret_box(request), _source_keys(request), _wakeup(request).wake
    )
    stored = await service.receive(source_id, _first_values(request.headers), body, utcnow())
    if stored is None:
        return _receipt(HrisReceipt(event_id="ping"), HTTPStatus.OK)
    return _receipt(
        HrisReceipt(id=stored.id, event_id=stored.event_id, status=stored.status),
        HTTPStatus.ACCEPTED if stored.new else HTTPStatus.OK,
    )


# Called by the vendor, not by our API's clients: signed, not bearer-authenticated, shaped by
# the vendor; so not in the OpenAPI document (docs/security.md describes it). A plain Starlette
# route: it has no parameter FastAPI would read or document, and FastAPI's handling of one
# costs about a tenth of a delivery's CPU.
webhook_router.add_route(
    f"{PREFIX}/sources/{{source_id}}/webhook",
    receive_hris_delivery,
    methods=["POST"],
    include_in_schema=False,
)


def _source_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise SourceNotFound("There is no HRIS source at this path.") from None


def _first_values(headers: Headers) -> dict[str, str]:
    """The headers, each name's first value: the verification and the audit look several up,
    and a dict finds each at once where `Headers` scans them all."""
    values: dict[str, str] = {}
    for name, value in headers.items():
        values.setdefault(name, value)
    return values


def _receipt(receipt: HrisReceipt, status: HTTPStatus) -> Response:
    # Encoded here: the route is out of the OpenAPI document, so a response model would only
    # validate again what was just built, on every delivery.
    return Response(receipt.model_dump_json(), status, media_type="application/json")


@router.post(
    "/sources/{source_id}/event-batches",
    status_code=HTTPStatus.ACCEPTED,
    summary="Push canonical hiring events for a source",
    description="For systems that send many canonical events at once. Every event is stored "
    "before the answer and applied asynchronously, in the order received; each `event_id` is "
    "its dedupe key within the source, so a batch sent again changes nothing and its events "
    "answer `duplicate`. A batch with an invalid event is refused whole (422, locating it).",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.TALENT_EVENTS_WRITE)],
)
async def push_hris_event_batch(
    source_id: SourceId, batch: HrisEventBatch, service: Ingestion
) -> HrisBatchResult:
    stored = await service.receive_batch(source_id, batch.events)
    return HrisBatchResult(
        results=[
            HrisBatchItem(
                event_id=item.event_id,
                id=item.id if item.new else item.duplicate_of or item.id,
                status=EventStatus.RECEIVED if item.new else EventStatus.DUPLICATE,
            )
            for item in stored
        ]
    )


@router.get(
    "/sources/{source_id}/events",
    summary="List what a source sent, and what became of it",
    description="Oldest first. Status and reason, never the content: bodies hold candidates' "
    "personal data. A redelivery appears as a `duplicate` of the first.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ORGANIZATION_ADMIN)],
)
async def list_hris_events(
    source_id: SourceId,
    service: Ingestion,
    page: PageParams,
    status: Annotated[EventStatus | None, Query(description="Only those in this status.")] = None,
    kind: Annotated[
        str | None, Query(max_length=64, description="Only this canonical kind.")
    ] = None,
    received_from: Annotated[
        datetime | None, Query(description="Only those received at or after this time.")
    ] = None,
) -> HrisEventPage:
    items, cursor = await service.log(
        source_id, page, status=status, kind=kind, received_from=received_from
    )
    return HrisEventPage(items=[_event(item) for item in items], next_cursor=cursor)


@router.get(
    "/events/{event_id}",
    summary="Get one event a source sent",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ORGANIZATION_ADMIN)],
)
async def get_hris_event(
    event_id: Annotated[UUID, Path(description="The event's `id` in the event log.")],
    service: Ingestion,
) -> HrisEventRead:
    return _event(await service.get(event_id))


@router.post(
    "/events/{event_id}/replay",
    status_code=HTTPStatus.ACCEPTED,
    summary="Apply a dead event again",
    description="Once the cause in its `reason` is fixed (say, a requisition now names the "
    "job's external id), the event is queued again and applied from its stored body. Only "
    "`dead` events replay (409 otherwise).",
    responses=problem_responses(401, 403, 404, 409, 422),
    dependencies=[require(Scope.ORGANIZATION_ADMIN)],
)
async def replay_hris_event(
    event_id: Annotated[UUID, Path(description="The event's `id` in the event log.")],
    service: Ingestion,
) -> HrisEventRead:
    return _event(await service.replay(event_id))


def _event(event: HrisEvent) -> HrisEventRead:
    return HrisEventRead.model_validate(event)
