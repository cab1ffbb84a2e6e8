from datetime import datetime
from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Query, Response

from handover_kit.auth import CurrentPrincipal, require
from handover_kit.db import Session
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope
from handover_shared.hiring_events import ApplicationStage
from handover_talent.clients.engagements import Engagements
from handover_talent.db import MESSAGING
from handover_talent.deps import EngagementFilter
from handover_talent.pipeline.history import derive_application
from handover_talent.pipeline.models import Application
from handover_talent.pipeline.repository import (
    ApplicationRepository,
    CandidateRepository,
    HistoryRepository,
    entries,
)
from handover_talent.pipeline.schemas import (
    ApplicationCreate,
    ApplicationDetail,
    ApplicationPage,
    ApplicationRead,
    CandidateCreate,
    CandidatePage,
    CandidateRead,
    HistoryEntryRead,
    StageChange,
    StagePeriodRead,
)
from handover_talent.pipeline.service import (
    API_SOURCE,
    ApplicationService,
    CandidateService,
    opened_at_of,
)

candidates_router = APIRouter(prefix="/v1/candidates", tags=["candidates"])
applications_router = APIRouter(prefix="/v1/applications", tags=["applications"])

CandidateId = Annotated[UUID, Path(description="The candidate's `id`.")]
ApplicationId = Annotated[UUID, Path(description="The application's `id`.")]


async def _candidates(session: Session, engagements: Engagements) -> CandidateService:
    return CandidateService(CandidateRepository(session), engagements)


async def _applications(session: Session) -> ApplicationService:
    return ApplicationService(
        ApplicationRepository(session),
        CandidateRepository(session),
        HistoryRepository(session),
        MESSAGING.publisher(session, source="talent"),
    )


Candidates = Annotated[CandidateService, Depends(_candidates)]
Applications = Annotated[ApplicationService, Depends(_applications)]


@candidates_router.post(
    "",
    status_code=HTTPStatus.CREATED,
    summary="Add a candidate",
    description="As little of the person as hiring needs: a name and, optionally, an email. "
    "Neither is ever logged; both are blanked on erasure.",
    responses=problem_responses(422, 503),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def create_candidate(
    data: CandidateCreate, service: Candidates, principal: CurrentPrincipal, response: Response
) -> CandidateRead:
    candidate = await service.create(data, principal)
    response.headers["Location"] = f"{candidates_router.prefix}/{candidate.id}"
    return CandidateRead.model_validate(candidate)


@candidates_router.get(
    "",
    summary="List candidates",
    description="Oldest first.",
    responses=problem_responses(422),
    dependencies=[require(Scope.TALENT_READ)],
)
async def list_candidates(
    service: Candidates,
    page: PageParams,
    engagement_id: EngagementFilter = None,
) -> CandidatePage:
    items, cursor = await service.list(page, engagement_id=engagement_id)
    return CandidatePage(
        items=[CandidateRead.model_validate(item) for item in items], next_cursor=cursor
    )


@candidates_router.get(
    "/{candidate_id}",
    summary="Get a candidate",
    responses=problem_responses(404),
    dependencies=[require(Scope.TALENT_READ)],
)
async def get_candidate(candidate_id: CandidateId, service: Candidates) -> CandidateRead:
    return CandidateRead.model_validate(await service.get(candidate_id))


@candidates_router.post(
    "/{candidate_id}/erasure",
    summary="Erase a candidate's personal data",
    description="Blanks the name and email for good, on the person's request. Their "
    "applications and history keep the facts (stages, times, hires) without the person; "
    "later events from a source do not bring the data back. Erasing twice changes nothing.",
    responses=problem_responses(404),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def erase_candidate(candidate_id: CandidateId, service: Candidates) -> CandidateRead:
    return CandidateRead.model_validate(await service.erase(candidate_id))


def _read(application: Application, opened_at: datetime | None) -> dict[str, object]:
    seconds = None
    if opened_at is not None and application.hired_at is not None:
        seconds = int((application.hired_at - opened_at).total_seconds())
    return {**application.model_dump(), "time_to_hire_seconds": seconds}


@applications_router.post(
    "",
    status_code=HTTPStatus.CREATED,
    summary="Put a candidate forward for a requisition",
    description="The application enters the pipeline in `stage` (default `sourced`). Candidate "
    "and requisition must be of one engagement (422); a cancelled or filled requisition takes "
    "none (409).",
    responses=problem_responses(409, 422),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def create_application(
    data: ApplicationCreate,
    service: Applications,
    principal: CurrentPrincipal,
    response: Response,
) -> ApplicationDetail:
    application = await service.create(data, principal)
    response.headers["Location"] = f"{applications_router.prefix}/{application.id}"
    return await _detail(service, application)


@applications_router.get(
    "",
    summary="List applications",
    description="Oldest first.",
    responses=problem_responses(422),
    dependencies=[require(Scope.TALENT_READ)],
)
async def list_applications(
    service: Applications,
    page: PageParams,
    requisition_id: Annotated[UUID | None, Query(description="Only for this requisition.")] = None,
    candidate_id: Annotated[UUID | None, Query(description="Only this candidate's.")] = None,
    stage: Annotated[
        ApplicationStage | None, Query(description="Only those in this stage.")
    ] = None,
) -> ApplicationPage:
    items, cursor = await service.list(
        page, requisition_id=requisition_id, candidate_id=candidate_id, stage=stage
    )
    opened = await opened_at_of(service.applications, {item.requisition_id for item in items})
    return ApplicationPage(
        items=[
            ApplicationRead.model_validate(_read(item, opened.get(item.requisition_id)))
            for item in items
        ],
        next_cursor=cursor,
    )


async def _detail(service: ApplicationService, application: Application) -> ApplicationDetail:
    rows = await service.history_of(application.id)
    state = derive_application(entries(rows))
    periods = [
        StagePeriodRead(
            stage=period.stage,
            entered_at=period.entered_at,
            left_at=period.left_at,
            seconds=(
                int((period.left_at - period.entered_at).total_seconds())
                if period.left_at is not None
                else None
            ),
        )
        for period in (state.periods if state else ())
    ]
    history = [
        HistoryEntryRead(
            kind=row.kind,
            stage=row.stage,
            occurred_at=row.occurred_at,
            actor=row.actor,
            source=f"hris:{row.source_id}" if row.source_id else API_SOURCE,
            recorded_at=row.recorded_at,
        )
        for row in sorted(rows, key=lambda row: (row.occurred_at, row.event_key))
    ]
    opened = await opened_at_of(service.applications, {application.requisition_id})
    return ApplicationDetail.model_validate(
        {
            **_read(application, opened.get(application.requisition_id)),
            "periods": periods,
            "history": history,
        }
    )


@applications_router.get(
    "/{application_id}",
    summary="Get an application with its history",
    description="Its stage now, the time it spent in each stage, and every event that moved "
    "it, with when it happened, who did it and through what. Time to hire runs from the "
    "requisition's opening to the hire.",
    responses=problem_responses(404),
    dependencies=[require(Scope.TALENT_READ)],
)
async def get_application(
    application_id: ApplicationId, service: Applications
) -> ApplicationDetail:
    return await _detail(service, await service.get(application_id))


@applications_router.post(
    "/{application_id}/stage-changes",
    summary="Move an application to a stage",
    description="Recorded in its history with the caller as actor. `offer` with "
    "`offer_accepted` records the candidate's decision; `hired` needs `start_date` and makes "
    "the candidate a team member (once every position is hired, the requisition is filled). "
    "A hire stands: moving a hired application answers 409. `occurred_at` may lie in the "
    "past: the stage is whatever the latest-occurred event says.",
    responses=problem_responses(404, 409, 422),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def change_application_stage(
    application_id: ApplicationId,
    data: Annotated[
        StageChange,
        Body(
            discriminator="stage",
            examples=[
                {"stage": "interview", "occurred_at": "2025-01-28T14:00:00Z"},
                {"stage": "hired", "start_date": "2025-03-03"},
            ],
        ),
    ],
    service: Applications,
    principal: CurrentPrincipal,
) -> ApplicationDetail:
    application = await service.change_stage(application_id, data, principal)
    return await _detail(service, application)
