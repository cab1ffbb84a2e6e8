from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path

from handover_kit.auth import CurrentPrincipal, ServiceCaller, require
from handover_kit.db import Reads
from handover_kit.errors import problem_responses
from handover_kpi.clients.engagements import Engagements
from handover_kpi.errors import EngagementNotFound
from handover_kpi.scorecards.repository import ScorecardRows
from handover_kpi.scorecards.schemas import Scorecard
from handover_kpi.scorecards.service import ScorecardService
from handover_shared.auth import Scope
from handover_shared.kpi import TRANSFER_READINESS_PATH, TransferReadiness

router = APIRouter(
    prefix="/v1/scorecards", tags=["scorecards"], dependencies=[require(Scope.KPI_READ)]
)
internal_router = APIRouter(include_in_schema=False, dependencies=[ServiceCaller])


EngagementId = Annotated[UUID, Path(description="The engagement's `id`.")]


async def _visible(
    engagement_id: EngagementId, engagements: Engagements, principal: CurrentPrincipal
) -> UUID:
    """The engagement, if the engagements service knows it and it is the caller's: another
    tenant's is answered exactly like a missing one."""
    if await engagements.visible_engagement(engagement_id, principal) is None:
        raise EngagementNotFound(f"There is no engagement {engagement_id}.")
    return engagement_id


VisibleEngagement = Annotated[UUID, Depends(_visible)]


@router.get(
    "/{engagement_id}",
    summary="Get an engagement's scorecard",
    description="Each target that applies now, against its metric's latest engagement-wide "
    "value (data points without dimensions): the value, the one before it and the trend "
    "between them, and the status: `met`, `at_risk` (missed by no more than the target's "
    "margin), `missed`, or `no_data`. If the engagements service cannot be asked, the answer "
    "is 503.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_scorecard(engagement_id: VisibleEngagement, reads: Reads) -> Scorecard:
    async with reads() as connection:
        return await ScorecardService(ScorecardRows(connection)).scorecard(engagement_id)


@router.get(
    "/{engagement_id}/transfer-readiness",
    summary="Get an engagement's transfer-readiness verdict",
    description="What the operate -> transfer gate asks: ready only if every target that "
    "applies now is met; each metric comes with the reason it fails, if it does. An "
    "engagement without targets is ready as far as its KPIs go.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_transfer_readiness(
    engagement_id: VisibleEngagement, reads: Reads
) -> TransferReadiness:
    async with reads() as connection:
        return await ScorecardService(ScorecardRows(connection)).transfer_readiness(engagement_id)


@internal_router.get(TRANSFER_READINESS_PATH)
async def get_transfer_readiness_for_service(
    engagement_id: UUID, reads: Reads
) -> TransferReadiness:
    async with reads() as connection:
        return await ScorecardService(ScorecardRows(connection)).transfer_readiness(engagement_id)
