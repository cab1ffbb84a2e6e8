from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Response, status

from handover_engagements.audit import AuditTrail
from handover_engagements.db import IDEMPOTENCY, MESSAGING
from handover_engagements.engagements.repository import EngagementRepository
from handover_engagements.slas.models import Sla
from handover_engagements.slas.repository import SlaRepository
from handover_engagements.slas.schemas import SlaCreate, SlaPage, SlaRead, SlaUpdate
from handover_engagements.slas.service import SlaService
from handover_kit.auth import CurrentPrincipal, require
from handover_kit.concurrency import ETAG_RESPONSE, IfMatch, set_etag
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.idempotency import Created, IdempotencyKey
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope

router = APIRouter(prefix="/v1/engagements/{engagement_id}/slas", tags=["slas"])

EngagementId = Annotated[UUID, Path(description="The engagement's `id`.")]
SlaId = Annotated[UUID, Path(description="The SLA's `id`.")]


async def _service(session: Session) -> SlaService:
    return SlaService(
        SlaRepository(session),
        EngagementRepository(session),
        AuditTrail(session),
        MESSAGING.publisher(session, source="engagements"),
    )


Service = Annotated[SlaService, Depends(_service)]


def _read(response: Response, sla: Sla) -> SlaRead:
    read = SlaRead.model_validate(sla)
    set_etag(response, read.version)
    return read


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SlaRead,
    summary="Define an SLA of an engagement",
    description="A metric held to a target over a rolling window, from a date on; the kpi "
    "service is told and measures it. One SLA per metric of an engagement: a second is a 409. "
    "Recorded in the audit trail. Send an `Idempotency-Key` to make a retry safe.",
    responses={201: ETAG_RESPONSE, **problem_responses(401, 403, 404, 409, 422)},
    dependencies=[require(Scope.ENGAGEMENTS_WRITE)],
)
async def create_sla(
    engagement_id: EngagementId,
    data: SlaCreate,
    service: Service,
    principal: CurrentPrincipal,
    session: Session,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    async def create() -> Created:
        sla = await service.create(engagement_id, data, principal)
        location = f"/v1/engagements/{engagement_id}/slas/{sla.id}"
        return Created(SlaRead.model_validate(sla), location, sla.version)

    request = {"engagement_id": str(engagement_id), **data.model_dump(mode="json")}
    return await IDEMPOTENCY.create(session, principal, idempotency_key, request, create)


@router.get(
    "",
    summary="List an engagement's SLAs",
    description="Oldest first.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def list_slas(engagement_id: EngagementId, service: Service, page: PageParams) -> SlaPage:
    items, cursor = await service.list(engagement_id, page)
    return SlaPage(items=[SlaRead.model_validate(item) for item in items], next_cursor=cursor)


@router.get(
    "/{sla_id}",
    summary="Get an SLA",
    description="The `ETag` header holds its version, for a later `If-Match`.",
    responses={200: ETAG_RESPONSE, **problem_responses(401, 403, 404, 422)},
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def get_sla(
    engagement_id: EngagementId, sla_id: SlaId, service: Service, response: Response
) -> SlaRead:
    return _read(response, await service.get(engagement_id, sla_id))


@router.patch(
    "/{sla_id}",
    summary="Change an SLA's target, comparator, window or start",
    description="Only the fields sent change; the kpi service is told. `If-Match` must hold "
    "the `ETag` last read: 428 without it, 412 if the SLA changed since. Recorded in the "
    "audit trail.",
    responses={200: ETAG_RESPONSE, **problem_responses(401, 403, 404, 412, 422, 428)},
    dependencies=[require(Scope.ENGAGEMENTS_WRITE)],
)
async def update_sla(
    engagement_id: EngagementId,
    sla_id: SlaId,
    data: SlaUpdate,
    expected: IfMatch,
    service: Service,
    principal: CurrentPrincipal,
    response: Response,
) -> SlaRead:
    return _read(response, await service.update(engagement_id, sla_id, data, expected, principal))


@router.delete(
    "/{sla_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Retire an SLA",
    description="The SLA no longer applies from now; the kpi service is told and stops "
    "measuring it. Its definition stays in the audit trail.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ENGAGEMENTS_WRITE)],
)
async def delete_sla(
    engagement_id: EngagementId, sla_id: SlaId, service: Service, principal: CurrentPrincipal
) -> None:
    await service.remove(engagement_id, sla_id, principal)
