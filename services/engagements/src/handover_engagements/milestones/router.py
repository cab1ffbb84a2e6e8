from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status

from handover_engagements.audit import AuditTrail
from handover_engagements.db import IDEMPOTENCY
from handover_engagements.engagements.repository import EngagementRepository
from handover_engagements.milestones.models import Milestone
from handover_engagements.milestones.repository import MilestoneFilter, MilestoneRepository
from handover_engagements.milestones.schemas import (
    MilestoneCreate,
    MilestonePage,
    MilestoneRead,
    MilestoneStatus,
    MilestoneUpdate,
)
from handover_engagements.milestones.service import MilestoneService
from handover_kit.auth import CurrentPrincipal, require
from handover_kit.concurrency import ETAG_RESPONSE, IfMatch, set_etag
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.idempotency import Created, IdempotencyKey
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope
from handover_shared.engagements import Owner, Phase

router = APIRouter(prefix="/v1/engagements/{engagement_id}/milestones", tags=["milestones"])

EngagementId = Annotated[UUID, Path(description="The engagement's `id`.")]
MilestoneId = Annotated[UUID, Path(description="The milestone's `id`.")]


async def _service(session: Session) -> MilestoneService:
    return MilestoneService(
        MilestoneRepository(session), EngagementRepository(session), AuditTrail(session)
    )


Service = Annotated[MilestoneService, Depends(_service)]


def _read(response: Response, milestone: Milestone) -> MilestoneRead:
    read = MilestoneRead.model_validate(milestone)
    set_etag(response, read.version)
    return read


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MilestoneRead,
    summary="Add a milestone to a phase of an engagement",
    description="A milestone created `done` needs completion evidence (422 otherwise). The "
    "build phase's milestones must all be done or cancelled before the engagement may move "
    "to operate. Recorded in the audit trail. Send an `Idempotency-Key` to make a retry safe.",
    responses={201: ETAG_RESPONSE, **problem_responses(401, 403, 404, 422)},
    dependencies=[require(Scope.ENGAGEMENTS_WRITE)],
)
async def create_milestone(
    engagement_id: EngagementId,
    data: MilestoneCreate,
    service: Service,
    principal: CurrentPrincipal,
    session: Session,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    async def create() -> Created:
        milestone = await service.create(engagement_id, data, principal)
        location = f"/v1/engagements/{engagement_id}/milestones/{milestone.id}"
        return Created(MilestoneRead.model_validate(milestone), location, milestone.version)

    request = {"engagement_id": str(engagement_id), **data.model_dump(mode="json")}
    return await IDEMPOTENCY.create(session, principal, idempotency_key, request, create)


@router.get(
    "",
    summary="List an engagement's milestones",
    description="Oldest first, optionally only those of one phase, status or owner.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def list_milestones(
    engagement_id: EngagementId,
    service: Service,
    page: PageParams,
    phase: Annotated[Phase | None, Query(description="Only those of this phase.")] = None,
    status: Annotated[
        MilestoneStatus | None, Query(description="Only those in this status.")
    ] = None,
    owner: Annotated[Owner | None, Query(description="Only those this party owns.")] = None,
) -> MilestonePage:
    items, cursor = await service.list(
        engagement_id, page, MilestoneFilter(phase=phase, status=status, owner=owner)
    )
    return MilestonePage(
        items=[MilestoneRead.model_validate(item) for item in items], next_cursor=cursor
    )


@router.get(
    "/{milestone_id}",
    summary="Get a milestone",
    description="The `ETag` header holds its version, for a later `If-Match`.",
    responses={200: ETAG_RESPONSE, **problem_responses(401, 403, 404, 422)},
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def get_milestone(
    engagement_id: EngagementId, milestone_id: MilestoneId, service: Service, response: Response
) -> MilestoneRead:
    return _read(response, await service.get(engagement_id, milestone_id))


@router.patch(
    "/{milestone_id}",
    summary="Change a milestone, or mark it done",
    description="Only the fields sent change. `done` needs completion evidence, sent now or "
    "already on the milestone (422 otherwise); `completed_at` is then the moment it is marked "
    "done unless given. Leaving `done` clears `completed_at`. Cancel a milestone that is no "
    "longer wanted with the status `cancelled`. `If-Match` must hold the `ETag` last read: "
    "428 without it, 412 if the milestone changed since. Recorded in the audit trail.",
    responses={200: ETAG_RESPONSE, **problem_responses(401, 403, 404, 412, 422, 428)},
    dependencies=[require(Scope.ENGAGEMENTS_WRITE)],
)
async def update_milestone(
    engagement_id: EngagementId,
    milestone_id: MilestoneId,
    data: MilestoneUpdate,
    expected: IfMatch,
    service: Service,
    principal: CurrentPrincipal,
    response: Response,
) -> MilestoneRead:
    milestone = await service.update(engagement_id, milestone_id, data, expected, principal)
    return _read(response, milestone)
