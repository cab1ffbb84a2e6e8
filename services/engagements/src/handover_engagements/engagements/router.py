from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from handover_engagements.clients.kpi import kpi_of
from handover_engagements.clients.talent import talent_of
from handover_engagements.db import IDEMPOTENCY
from handover_engagements.engagements.repository import EngagementFilter
from handover_engagements.engagements.schemas import (
    BusinessFunction,
    DeliveryModel,
    EngagementCreate,
    EngagementPage,
    EngagementRead,
    EngagementSummary,
    EngagementUpdate,
    GateResult,
    Phase,
    Timeline,
    TransitionCreate,
)
from handover_engagements.engagements.service import (
    EngagementReader,
    EngagementService,
    GateCheck,
    read,
)
from handover_kit.auth import Principal, ServiceCaller, require
from handover_kit.concurrency import ETAG_HEADER, IfMatch, set_etag
from handover_kit.db import Reads, Session, reads_of
from handover_kit.errors import problem_responses
from handover_kit.idempotency import Created, IdempotencyKey
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope
from handover_shared.text import Text

router = APIRouter(prefix="/v1/engagements", tags=["engagements"])
internal_router = APIRouter(
    prefix="/internal/v1/engagements", include_in_schema=False, dependencies=[ServiceCaller]
)


# async: FastAPI runs a plain `def` dependency in a worker thread, a costly hop per request.
async def _service(session: Session) -> EngagementService:
    return EngagementService(session)


async def _gated_service(request: Request, session: Session) -> EngagementService:
    return EngagementService(session, talent_of(request), kpi_of(request))


async def _gate_check(request: Request) -> GateCheck:
    return GateCheck(await reads_of(request), talent_of(request), kpi_of(request))


Service = Annotated[EngagementService, Depends(_service)]
GatedService = Annotated[EngagementService, Depends(_gated_service)]
GateChecker = Annotated[GateCheck, Depends(_gate_check)]
Admin = Annotated[Principal, require(Scope.PLATFORM_ADMIN)]
Reader = Annotated[Principal, require(Scope.ENGAGEMENTS_READ)]
Writer = Annotated[Principal, require(Scope.ENGAGEMENTS_WRITE)]
EngagementId = Annotated[UUID, Path(description="The engagement's `id`.")]

_ETAG_RESPONSE = {
    "headers": {
        ETAG_HEADER: {
            "description": "The version read; send it back in `If-Match` to change the resource.",
            "schema": {"type": "string", "examples": ['"1"']},
        }
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EngagementRead,
    summary="Start an engagement between a client and a partner",
    description="A new engagement starts in the `build` phase, owned by the partner, with its "
    "transfer plan drawn up with the standard scope. Send an `Idempotency-Key` to make a "
    "retry safe. Plans outside the typical phase lengths are accepted and come back with "
    "`warnings`. Platform administrators only.",
    responses={201: _ETAG_RESPONSE, **problem_responses(401, 403, 422)},
    dependencies=[require(Scope.PLATFORM_ADMIN)],
)
async def create_engagement(
    data: EngagementCreate,
    session: Session,
    actor: Admin,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    async def create() -> Created:
        engagement = await EngagementService(session).create(data, actor)
        location = f"{router.prefix}/{engagement.id}"
        return Created(read(engagement), location, engagement.version)

    request = data.model_dump(mode="json")
    return await IDEMPOTENCY.create(session, actor, idempotency_key, request, create)


@router.get(
    "",
    summary="List engagements",
    description="Only those the caller may see: their organization's, as client or partner. "
    "Oldest first; filters combine.",
    responses=problem_responses(401, 403, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def list_engagements(
    reads: Reads,
    page: PageParams,
    client_id: Annotated[UUID | None, Query(description="Only this client's.")] = None,
    partner_id: Annotated[UUID | None, Query(description="Only this partner's.")] = None,
    phase: Annotated[Phase | None, Query(description="Only those in this phase.")] = None,
    delivery_model: Annotated[
        DeliveryModel | None, Query(description="Only those under this model.")
    ] = None,
    country: Annotated[
        str | None,
        Query(
            pattern="^[A-Z]{2}$",
            description="Only those whose destination is this country (ISO 3166-1 alpha-2).",
            examples=["PH"],
        ),
    ] = None,
    business_function: Annotated[
        BusinessFunction | None, Query(description="Only those doing this kind of work.")
    ] = None,
    q: Annotated[
        Text | None,
        Query(
            min_length=1,
            max_length=100,
            description="Only those whose name contains this text, in any case.",
            examples=["claims"],
        ),
    ] = None,
) -> EngagementPage:
    async with reads() as connection:
        items, cursor = await EngagementReader(connection).list(
            page,
            EngagementFilter(
                client_id=client_id,
                partner_id=partner_id,
                phase=phase,
                delivery_model=delivery_model,
                country=country,
                business_function=business_function,
                q=q,
            ),
        )
    return EngagementPage(items=[read(item) for item in items], next_cursor=cursor)


@router.get(
    "/{engagement_id}",
    summary="Get an engagement",
    description="Answers its version in `ETag`, to send back in `If-Match` with a change.",
    responses={200: _ETAG_RESPONSE, **problem_responses(401, 403, 404, 422)},
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def get_engagement(
    engagement_id: EngagementId, reads: Reads, response: Response
) -> EngagementRead:
    async with reads() as connection:
        engagement = await EngagementReader(connection).get(engagement_id)
    set_etag(response, engagement.version)
    return read(engagement)


@router.patch(
    "/{engagement_id}",
    summary="Change an engagement",
    description="Only the fields sent change; each change is kept in the audit trail. "
    "`If-Match` must hold the `ETag` last read: 428 without it, 412 if the engagement changed "
    "since. A client entity must be the client's, in the destination country.",
    responses={
        200: _ETAG_RESPONSE,
        **problem_responses(401, 403, 404, 412, 422, 428),
    },
)
async def update_engagement(
    engagement_id: EngagementId,
    data: EngagementUpdate,
    actor: Writer,
    expected: IfMatch,
    service: Service,
    response: Response,
) -> EngagementRead:
    engagement = await service.update(engagement_id, data, expected, actor)
    set_etag(response, engagement.version)
    return read(engagement)


@router.post(
    "/{engagement_id}/transitions",
    summary="Move an engagement to another phase",
    description="Allowed moves follow the delivery model (see `next_phases`); any other is "
    "409 `/problems/illegal-transition`, listing `allowed_transitions`. The gate's criteria "
    "must all be met, or 409 `/problems/gate-not-passed` lists every `unmet` one; a platform "
    "administrator may `override` with a `reason`. 503 names the talent or kpi service when "
    "a gate cannot ask it. Ownership passes to the client on `transferred`. `If-Match` is "
    "required.",
    responses={
        200: _ETAG_RESPONSE,
        **problem_responses(401, 403, 404, 409, 412, 422, 428, 503),
    },
)
async def transition_engagement(
    engagement_id: EngagementId,
    data: TransitionCreate,
    actor: Writer,
    expected: IfMatch,
    service: GatedService,
    response: Response,
) -> EngagementRead:
    engagement = await service.transition(engagement_id, data, expected, actor)
    set_etag(response, engagement.version)
    return read(engagement)


@router.get(
    "/{engagement_id}/gates/{to_phase}",
    summary="Check a transition's gate without moving",
    description="Every entry criterion of moving to `to_phase`, met or not, as the transition "
    "would judge them now. 409 if the move itself is not allowed; 503 naming the talent or kpi "
    "service if it cannot answer.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def check_engagement_gate(
    engagement_id: EngagementId,
    to_phase: Annotated[Phase, Path(description="The phase to check a move to.")],
    check: GateChecker,
) -> GateResult:
    return await check.gate(engagement_id, to_phase)


@router.get(
    "/{engagement_id}/timeline",
    summary="Compare an engagement's planned and actual phase dates",
    description="Each phase that has a plan or has started, with planned and actual dates and "
    "the slippage in days (positive is late).",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def get_engagement_timeline(engagement_id: EngagementId, service: Service) -> Timeline:
    return await service.timeline(engagement_id)


@internal_router.get("/{engagement_id}")
async def get_engagement_for_service(engagement_id: UUID, service: Service) -> EngagementSummary:
    return EngagementSummary.model_validate(await service.get(engagement_id))
