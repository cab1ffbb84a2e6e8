from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response

from handover_kit.auth import CurrentPrincipal, ServiceCaller, require
from handover_kit.db import Reads, Session
from handover_kit.errors import problem_responses
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope
from handover_shared.talent import (
    EMPLOYMENT_PATH,
    HIRING_PROGRESS_PATH,
    EmploymentStatus,
    HiringProgress,
)
from handover_talent.clients.engagements import Engagements
from handover_talent.db import MESSAGING
from handover_talent.deps import EngagementFilter
from handover_talent.members.models import EmploymentTransfer, EmploymentTransition
from handover_talent.members.repository import (
    HiringRows,
    TeamMemberRepository,
    TransferRepository,
)
from handover_talent.members.schemas import (
    EmploymentTransferCreate,
    EmploymentTransferRead,
    EmploymentTransitionRead,
    MemberStatus,
    OnboardingCompletion,
    TeamMemberPage,
    TeamMemberRead,
    Termination,
)
from handover_talent.members.service import TeamMemberService

members_router = APIRouter(prefix="/v1/team-members", tags=["team-members"])
transfers_router = APIRouter(prefix="/v1/employment-transfers", tags=["employment-transfers"])
internal_router = APIRouter(include_in_schema=False, dependencies=[ServiceCaller])

MemberId = Annotated[UUID, Path(description="The team member's `id`.")]


async def _service(session: Session) -> TeamMemberService:
    return TeamMemberService(
        TeamMemberRepository(session),
        TransferRepository(session),
        MESSAGING.publisher(session, source="talent"),
    )


Service = Annotated[TeamMemberService, Depends(_service)]


@members_router.get(
    "",
    summary="List team members",
    description="Oldest first. A hire becomes a team member; so the team is listed here.",
    responses=problem_responses(422),
    dependencies=[require(Scope.TALENT_READ)],
)
async def list_team_members(
    service: Service,
    page: PageParams,
    engagement_id: EngagementFilter = None,
    status: Annotated[MemberStatus | None, Query(description="Only those in this status.")] = None,
    employer_entity_id: Annotated[
        UUID | None, Query(description="Only those this legal entity employs.")
    ] = None,
) -> TeamMemberPage:
    items, cursor = await service.list(
        page, engagement_id=engagement_id, status=status, employer_entity_id=employer_entity_id
    )
    return TeamMemberPage(
        items=[TeamMemberRead.model_validate(item) for item in items], next_cursor=cursor
    )


@members_router.get(
    "/{team_member_id}",
    summary="Get a team member",
    responses=problem_responses(404),
    dependencies=[require(Scope.TALENT_READ)],
)
async def get_team_member(team_member_id: MemberId, service: Service) -> TeamMemberRead:
    return TeamMemberRead.model_validate(await service.get(team_member_id))


@members_router.post(
    "/{team_member_id}/onboarding-completion",
    summary="Record that a team member completed onboarding",
    description="The member becomes `active`. Only a member in `onboarding` completes it (409).",
    responses=problem_responses(404, 409),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def complete_onboarding(
    team_member_id: MemberId,
    data: OnboardingCompletion,
    service: Service,
    principal: CurrentPrincipal,
) -> TeamMemberRead:
    member = await service.complete_onboarding(team_member_id, data.completed_on, principal)
    return TeamMemberRead.model_validate(member)


@members_router.post(
    "/{team_member_id}/termination",
    summary="Record that a team member left",
    description="With the last day, whether it was voluntary, and why: retention and attrition "
    "count it. Only an employed member leaves (409).",
    responses=problem_responses(404, 409),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def terminate_team_member(
    team_member_id: MemberId, data: Termination, service: Service, principal: CurrentPrincipal
) -> TeamMemberRead:
    return TeamMemberRead.model_validate(await service.terminate(team_member_id, data, principal))


def _transfer_read(
    transfer: EmploymentTransfer, transitions: list[EmploymentTransition]
) -> EmploymentTransferRead:
    return EmploymentTransferRead(
        id=transfer.id,
        engagement_id=transfer.engagement_id,
        to_entity_id=transfer.to_entity_id,
        effective_date=transfer.effective_date,
        transitions=[EmploymentTransitionRead.model_validate(t) for t in transitions],
        created_at=transfer.created_at,
    )


@transfers_router.post(
    "",
    status_code=HTTPStatus.CREATED,
    summary="Move team members' employment to the client's entity",
    description="Every listed member's contract moves to the engagement's `client_entity_id`, "
    "as the engagements service names it, from `effective_date`; each move is recorded as a "
    "transition (from, to, effective date). Members the client's entity employs already are "
    "left as they are. 409 when the engagement names no client entity or a member is not "
    "employed; 422 when a member is not of the engagement.",
    responses=problem_responses(409, 422, 503),
    dependencies=[require(Scope.TALENT_WRITE)],
)
async def create_employment_transfer(
    data: EmploymentTransferCreate,
    service: Service,
    engagements: Engagements,
    principal: CurrentPrincipal,
    response: Response,
) -> EmploymentTransferRead:
    transfer, transitions = await service.transfer(data, principal, engagements)
    response.headers["Location"] = f"{transfers_router.prefix}/{transfer.id}"
    return _transfer_read(transfer, transitions)


@transfers_router.get(
    "/{transfer_id}",
    summary="Get an employment transfer",
    responses=problem_responses(404),
    dependencies=[require(Scope.TALENT_READ)],
)
async def get_employment_transfer(
    transfer_id: Annotated[UUID, Path(description="The transfer's `id`.")], service: Service
) -> EmploymentTransferRead:
    return _transfer_read(*await service.get_transfer(transfer_id))


@internal_router.get(HIRING_PROGRESS_PATH)
async def hiring_progress_for_service(engagement_id: UUID, reads: Reads) -> HiringProgress:
    async with reads() as connection:
        counts = await HiringRows(connection).counts(engagement_id)
    return HiringProgress(
        engagement_id=engagement_id,
        active_members=counts.active_members,
        open_requisitions=counts.open_requisitions,
        unfilled_positions=counts.unfilled_positions,
    )


@internal_router.get(EMPLOYMENT_PATH)
async def employment_for_service(
    engagement_id: UUID, employer_entity_id: UUID, service: Service
) -> EmploymentStatus:
    return await service.employment(engagement_id, employer_entity_id)
