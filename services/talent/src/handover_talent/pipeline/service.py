from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

from sqlmodel import col, select

from handover_kit.auth import Principal
from handover_kit.outbox import Publisher
from handover_kit.pagination import PageRequest
from handover_shared.hiring_events import ApplicationStage
from handover_shared.problems import FieldError
from handover_talent.clients.engagements import EngagementsClient
from handover_talent.errors import (
    ApplicationNotFound,
    CandidateNotFound,
    HiringClosed,
    IllegalTransition,
    InvalidReference,
)
from handover_talent.ingestion.repository import forget_candidate_deliveries
from handover_talent.pipeline import history
from handover_talent.pipeline.models import Application, Candidate, PipelineEvent
from handover_talent.pipeline.repository import (
    ApplicationRepository,
    CandidateRepository,
    HistoryRepository,
)
from handover_talent.pipeline.schemas import (
    ApplicationCreate,
    CandidateCreate,
    MoveToHired,
    MoveToOffer,
    MoveToRejected,
    MoveToStage,
    StageChange,
)
from handover_talent.pipeline.settle import Settler
from handover_talent.requisitions.models import Requisition
from handover_talent.requisitions.schemas import RequisitionStatus

API_SOURCE = "api"


def actor(principal: Principal) -> str:
    return f"{principal.kind}:{principal.id}"


class Parties(Protocol):
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID


def api_event(
    parties: Parties,
    principal: Principal,
    *,
    candidate_id: UUID,
    kind: str,
    occurred_at: datetime | None,
    stage: ApplicationStage | None = None,
    application_id: UUID | None = None,
    details: dict[str, Any] | None = None,
) -> PipelineEvent:
    """A history entry for something a person or key did through the API."""
    return PipelineEvent(
        engagement_id=parties.engagement_id,
        client_id=parties.client_id,
        partner_id=parties.partner_id,
        candidate_id=candidate_id,
        application_id=application_id,
        kind=kind,
        stage=stage,
        occurred_at=occurred_at or datetime.now(UTC),
        actor=actor(principal),
        event_key=f"{API_SOURCE}:{uuid4()}",
        details=details or {},
    )


def _kind(change: StageChange) -> str:
    match change:
        case MoveToOffer(offer_accepted=None):
            return history.OFFER_CREATED
        case MoveToOffer(offer_accepted=accepted):
            return history.OFFER_ACCEPTED if accepted else history.OFFER_DECLINED
        case MoveToHired():
            return history.HIRED
        case MoveToRejected():
            return history.REJECTED
        case MoveToStage(stage="withdrawn"):
            return history.WITHDREW
    return history.STAGE_CHANGED


def _details(change: StageChange) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if isinstance(change, MoveToOffer | MoveToHired) and change.start_date is not None:
        details["start_date"] = change.start_date.isoformat()
    if isinstance(change, MoveToRejected) and change.reason is not None:
        details["reason"] = change.reason
    return details


class CandidateService:
    def __init__(self, candidates: CandidateRepository, engagements: EngagementsClient) -> None:
        self.candidates = candidates
        self.engagements = engagements

    async def create(self, data: CandidateCreate, principal: Principal) -> Candidate:
        engagement = await self.engagements.visible_engagement(
            data.engagement_id, principal, ["body", "engagement_id"]
        )
        return await self.candidates.add(
            Candidate(
                **data.model_dump(),
                client_id=engagement.client_id,
                partner_id=engagement.partner_id,
            )
        )

    async def get(self, candidate_id: UUID) -> Candidate:
        candidate = await self.candidates.get(candidate_id)
        if candidate is None:
            raise CandidateNotFound(f"There is no candidate {candidate_id}.")
        return candidate

    async def erase(self, candidate_id: UUID) -> Candidate:
        """Blank the person; their history keeps its facts (stages, times), which name no one."""
        candidate = await self.get(candidate_id)
        if candidate.source_id is not None and candidate.external_id is not None:
            # What the source sent names the person too: its bodies go in the same transaction,
            # locked before the candidate, in the order the HRIS processor locks them.
            await forget_candidate_deliveries(
                self.candidates.session, candidate.source_id, candidate.external_id
            )
        candidate.name = None
        candidate.email = None
        candidate.erased_at = candidate.erased_at or datetime.now(UTC)
        return await self.candidates.save(candidate)

    async def list(
        self, page: PageRequest, *, engagement_id: UUID | None
    ) -> tuple[list[Candidate], str | None]:
        return await self.candidates.list(page, engagement_id=engagement_id)


class ApplicationService:
    def __init__(
        self,
        applications: ApplicationRepository,
        candidates: CandidateRepository,
        history: HistoryRepository,
        publisher: Publisher,
    ) -> None:
        self.applications = applications
        self.candidates = candidates
        self.history = history
        self.settler = Settler(applications.session, publisher)

    async def create(self, data: ApplicationCreate, principal: Principal) -> Application:
        session = self.applications.session
        candidate = await self.candidates.get(data.candidate_id)
        requisition = await session.get(Requisition, data.requisition_id)
        if candidate is None or requisition is None:
            missing = "candidate_id" if candidate is None else "requisition_id"
            raise InvalidReference(
                f"There is no {missing.removesuffix('_id')} {getattr(data, missing)}.",
                errors=[FieldError(loc=["body", missing], msg="Not found", type="not_found")],
            )
        if candidate.engagement_id != requisition.engagement_id:
            raise InvalidReference(
                "The candidate and the requisition belong to different engagements.",
                errors=[
                    FieldError(
                        loc=["body", "requisition_id"],
                        msg="Not of the candidate's engagement",
                        type="mismatch",
                    )
                ],
            )
        if requisition.status in (RequisitionStatus.CANCELLED, RequisitionStatus.FILLED):
            raise HiringClosed(
                f"Requisition {requisition.id} is {requisition.status}: it takes no applications.",
                status_of_requisition=requisition.status,
            )
        await self.candidates.lock(candidate.id)
        occurred_at = data.occurred_at or datetime.now(UTC)
        application = await self.applications.add(
            Application(
                engagement_id=requisition.engagement_id,
                client_id=requisition.client_id,
                partner_id=requisition.partner_id,
                candidate_id=candidate.id,
                requisition_id=requisition.id,
                stage=data.stage,
                stage_entered_at=occurred_at,
            )
        )
        await self.history.record(
            api_event(
                application,
                principal,
                candidate_id=application.candidate_id,
                kind=history.CREATED,
                stage=data.stage,
                occurred_at=occurred_at,
                application_id=application.id,
            )
        )
        await self.settler.settle_application(application)
        return await self._fresh(application)

    async def change_stage(
        self, application_id: UUID, change: StageChange, principal: Principal
    ) -> Application:
        application = await self.get(application_id)
        if application.stage is ApplicationStage.HIRED and not isinstance(change, MoveToHired):
            raise IllegalTransition(
                f"Application {application_id} is hired: a hire stands. Terminate the team "
                "member instead.",
                current=application.stage,
                allowed=[],
            )
        await self.history.record(
            api_event(
                application,
                principal,
                candidate_id=application.candidate_id,
                kind=_kind(change),
                stage=ApplicationStage(change.stage),
                occurred_at=change.occurred_at,
                application_id=application.id,
                details=_details(change),
            )
        )
        await self.settler.settle_application(application)
        return await self._fresh(application)

    async def _fresh(self, application: Application) -> Application:
        await self.applications.session.flush()
        await self.applications.session.refresh(application)
        return application

    async def get(self, application_id: UUID) -> Application:
        application = await self.applications.get(application_id)
        if application is None:
            raise ApplicationNotFound(f"There is no application {application_id}.")
        return application

    async def history_of(self, application_id: UUID) -> list[PipelineEvent]:
        return await self.history.of_application(application_id)

    async def list(
        self,
        page: PageRequest,
        *,
        requisition_id: UUID | None,
        candidate_id: UUID | None,
        stage: ApplicationStage | None,
    ) -> tuple[list[Application], str | None]:
        return await self.applications.list(
            page, requisition_id=requisition_id, candidate_id=candidate_id, stage=stage
        )


async def opened_at_of(
    applications: ApplicationRepository, requisition_ids: set[UUID]
) -> dict[UUID, datetime | None]:
    rows = await applications.session.execute(
        select(col(Requisition.id), col(Requisition.opened_at)).where(
            col(Requisition.id).in_(requisition_ids)
        )
    )
    opened: dict[UUID, datetime | None] = {}
    for requisition_id, opened_at in rows:
        opened[requisition_id] = opened_at
    return opened
