from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status

from handover_engagements.audit import AuditTrail
from handover_engagements.db import IDEMPOTENCY
from handover_engagements.engagements.repository import EngagementRepository
from handover_engagements.risks.models import Risk
from handover_engagements.risks.repository import RiskRepository
from handover_engagements.risks.schemas import (
    SEVERITY_MAX,
    RiskCreate,
    RiskPage,
    RiskRead,
    RiskStatus,
    RiskUpdate,
)
from handover_engagements.risks.service import RiskService
from handover_kit.auth import CurrentPrincipal, require
from handover_kit.concurrency import ETAG_RESPONSE, IfMatch, set_etag
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.idempotency import Created, IdempotencyKey
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope

router = APIRouter(prefix="/v1/engagements/{engagement_id}/risks", tags=["risks"])

EngagementId = Annotated[UUID, Path(description="The engagement's `id`.")]
RiskId = Annotated[UUID, Path(description="The risk's `id`.")]


async def _service(session: Session) -> RiskService:
    return RiskService(RiskRepository(session), EngagementRepository(session), AuditTrail(session))


Service = Annotated[RiskService, Depends(_service)]


def _read(response: Response, risk: Risk) -> RiskRead:
    read = RiskRead.model_validate(risk)
    set_etag(response, read.version)
    return read


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RiskRead,
    summary="Record a risk of an engagement",
    description="Likelihood and impact are each rated 1 to 5; the severity is their product "
    "(1 to 25). Recorded in the audit trail. Send an `Idempotency-Key` to make a retry safe.",
    responses={201: ETAG_RESPONSE, **problem_responses(401, 403, 404, 422)},
    dependencies=[require(Scope.ENGAGEMENTS_WRITE)],
)
async def create_risk(
    engagement_id: EngagementId,
    data: RiskCreate,
    service: Service,
    principal: CurrentPrincipal,
    session: Session,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    async def create() -> Created:
        risk = await service.create(engagement_id, data, principal)
        location = f"/v1/engagements/{engagement_id}/risks/{risk.id}"
        return Created(RiskRead.model_validate(risk), location, risk.version)

    request = {"engagement_id": str(engagement_id), **data.model_dump(mode="json")}
    return await IDEMPOTENCY.create(session, principal, idempotency_key, request, create)


@router.get(
    "",
    summary="List an engagement's risks, most severe first",
    description="Ordered by severity, highest first, then newest first among equals; "
    "optionally only those in one status, or of at least a severity.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def list_risks(
    engagement_id: EngagementId,
    service: Service,
    page: PageParams,
    status: Annotated[RiskStatus | None, Query(description="Only those in this status.")] = None,
    min_severity: Annotated[
        int | None,
        Query(ge=1, le=SEVERITY_MAX, description="Only those at least this severe (1 to 25)."),
    ] = None,
) -> RiskPage:
    items, cursor = await service.list(
        engagement_id, page, status=status, min_severity=min_severity
    )
    return RiskPage(items=[RiskRead.model_validate(item) for item in items], next_cursor=cursor)


@router.get(
    "/{risk_id}",
    summary="Get a risk",
    description="The `ETag` header holds its version, for a later `If-Match`.",
    responses={200: ETAG_RESPONSE, **problem_responses(401, 403, 404, 422)},
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def get_risk(
    engagement_id: EngagementId, risk_id: RiskId, service: Service, response: Response
) -> RiskRead:
    return _read(response, await service.get(engagement_id, risk_id))


@router.patch(
    "/{risk_id}",
    summary="Change a risk, or its status",
    description="Only the fields sent change; the severity follows likelihood and impact. "
    "Close a risk that no longer applies with the status `closed`. `If-Match` must hold the "
    "`ETag` last read: 428 without it, 412 if the risk changed since. Recorded in the audit "
    "trail.",
    responses={200: ETAG_RESPONSE, **problem_responses(401, 403, 404, 412, 422, 428)},
    dependencies=[require(Scope.ENGAGEMENTS_WRITE)],
)
async def update_risk(
    engagement_id: EngagementId,
    risk_id: RiskId,
    data: RiskUpdate,
    expected: IfMatch,
    service: Service,
    principal: CurrentPrincipal,
    response: Response,
) -> RiskRead:
    return _read(response, await service.update(engagement_id, risk_id, data, expected, principal))
