from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Response, status

from handover_engagements.engagements.service import EngagementService
from handover_engagements.transfer_plans.models import TransferPlanItem
from handover_engagements.transfer_plans.schemas import (
    TransferPlanApproval,
    TransferPlanItemCreate,
    TransferPlanItemPage,
    TransferPlanItemRead,
    TransferPlanItemUpdate,
    TransferPlanRead,
)
from handover_engagements.transfer_plans.service import TransferPlanService
from handover_kit.auth import Principal, require
from handover_kit.concurrency import ETAG_RESPONSE, IfMatch, set_etag
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope

router = APIRouter(prefix="/v1/engagements/{engagement_id}/transfer-plan", tags=["transfer-plans"])


async def _service(session: Session) -> TransferPlanService:
    return TransferPlanService(session)


Service = Annotated[TransferPlanService, Depends(_service)]
Writer = Annotated[Principal, require(Scope.ENGAGEMENTS_WRITE)]
EngagementId = Annotated[UUID, Path(description="The engagement's `id`.")]
ItemId = Annotated[UUID, Path(description="The item's `id`.")]


def _read(response: Response, item: TransferPlanItem) -> TransferPlanItemRead:
    read = TransferPlanItemRead.model_validate(item)
    set_etag(response, read.version)
    return read


@router.get(
    "",
    summary="Get an engagement's transfer plan",
    description="Drawn up with the standard scope when the engagement starts: employment "
    "contracts, facility leases, IT infrastructure, process documentation, HR and payroll "
    "systems, vendor contracts, knowledge transfer. Approval is a criterion of the transfer "
    "gate.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def get_transfer_plan(engagement_id: EngagementId, service: Service) -> TransferPlanRead:
    return await service.plan(engagement_id)


@router.post(
    "/approval",
    summary="Approve an engagement's transfer plan",
    description="Kept in the audit trail. `If-Match` holds the engagement's `ETag`, which "
    "approval changes. Approving an approved plan changes nothing.",
    responses={200: ETAG_RESPONSE, **problem_responses(401, 403, 404, 412, 422, 428)},
)
async def approve_transfer_plan(
    engagement_id: EngagementId,
    data: TransferPlanApproval,
    actor: Writer,
    expected: IfMatch,
    session: Session,
    response: Response,
) -> TransferPlanRead:
    engagement = await EngagementService(session).approve_transfer_plan(
        engagement_id, expected, actor, data.reason
    )
    set_etag(response, engagement.version)
    return await TransferPlanService(session).plan(engagement_id)


@router.get(
    "/items",
    summary="List a transfer plan's items",
    description="Oldest first: the standard scope, then items added.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def list_transfer_plan_items(
    engagement_id: EngagementId, service: Service, page: PageParams
) -> TransferPlanItemPage:
    items, cursor = await service.list(engagement_id, page)
    return TransferPlanItemPage(
        items=[TransferPlanItemRead.model_validate(item) for item in items], next_cursor=cursor
    )


@router.post(
    "/items",
    status_code=status.HTTP_201_CREATED,
    summary="Add an item to a transfer plan",
    description="Kept in the audit trail.",
    responses={201: ETAG_RESPONSE, **problem_responses(401, 403, 404, 422)},
)
async def add_transfer_plan_item(
    engagement_id: EngagementId,
    data: TransferPlanItemCreate,
    service: Service,
    actor: Writer,
    response: Response,
) -> TransferPlanItemRead:
    item = await service.add(engagement_id, data, actor)
    response.headers["Location"] = f"/v1/engagements/{engagement_id}/transfer-plan/items/{item.id}"
    return _read(response, item)


@router.get(
    "/items/{item_id}",
    summary="Get a transfer plan item",
    responses={200: ETAG_RESPONSE, **problem_responses(401, 403, 404, 422)},
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def get_transfer_plan_item(
    engagement_id: EngagementId, item_id: ItemId, service: Service, response: Response
) -> TransferPlanItemRead:
    return _read(response, await service.get(engagement_id, item_id))


@router.patch(
    "/items/{item_id}",
    summary="Change a transfer plan item",
    description="Only the fields sent change; kept in the audit trail. `If-Match` must hold "
    "the item's `ETag`: 428 without it, 412 if it changed since.",
    responses={200: ETAG_RESPONSE, **problem_responses(401, 403, 404, 412, 422, 428)},
)
async def update_transfer_plan_item(
    engagement_id: EngagementId,
    item_id: ItemId,
    data: TransferPlanItemUpdate,
    actor: Writer,
    expected: IfMatch,
    service: Service,
    response: Response,
) -> TransferPlanItemRead:
    item = await service.update(engagement_id, item_id, data, expected, actor)
    return _read(response, item)
