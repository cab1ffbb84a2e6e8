from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path

from handover_engagements.audit.schemas import AuditEventPage, AuditEventRead
from handover_engagements.audit.service import AuditTrail
from handover_engagements.engagements.repository import EngagementRepository
from handover_engagements.errors import EngagementNotFound
from handover_kit.auth import require
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope

router = APIRouter(prefix="/v1/engagements", tags=["audit-trail"])


@router.get(
    "/{engagement_id}/audit-trail",
    summary="Read an engagement's audit trail",
    description="Every change to the engagement and its parts, and every phase transition "
    "(gate overrides included): who, when, the fields before and after, and the reason given. "
    "Oldest first; the cursor pages forward in time.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require(Scope.ENGAGEMENTS_READ)],
)
async def list_engagement_audit_events(
    engagement_id: Annotated[UUID, Path(description="The engagement's `id`.")],
    session: Session,
    page: PageParams,
) -> AuditEventPage:
    if await EngagementRepository(session).get(engagement_id) is None:
        raise EngagementNotFound(f"There is no engagement {engagement_id}.")
    items, cursor = await AuditTrail(session).list(engagement_id, page)
    return AuditEventPage(
        items=[AuditEventRead.model_validate(item) for item in items], next_cursor=cursor
    )
