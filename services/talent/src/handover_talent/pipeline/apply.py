"""How a canonical hiring event from an HRIS/ATS source changes the pipeline.

The caller (the ingestion processor) owns the transaction and the dedupe of deliveries; this
module still makes application idempotent and order-independent: each event becomes one row of
the candidate's history, keyed by source and event id, and the state is derived from the whole
history, never from the order in which events arrived.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handover_kit.outbox import Publisher
from handover_shared.hiring_events import (
    ApplicationCreated,
    ApplicationStage,
    CandidateHired,
    CandidateRejected,
    EmployeeOnboarded,
    EmployeeTerminated,
    HiringEvent,
    OfferAccepted,
    OfferCreated,
    StageChanged,
)
from handover_talent.members.repository import TeamMemberRepository
from handover_talent.pipeline.models import Application, Candidate, PipelineEvent
from handover_talent.pipeline.repository import (
    ApplicationRepository,
    CandidateRepository,
    HistoryRepository,
)
from handover_talent.pipeline.settle import Settler
from handover_talent.requisitions.models import Requisition


@dataclass(frozen=True)
class EventContext:
    source_id: UUID
    """The registered integration."""
    engagement_id: UUID
    """The source's engagement mapping."""
    client_id: UUID
    partner_id: UUID


class EventRejected(Exception):
    """The event cannot be applied as things stand (e.g. no requisition names its job_id);
    it goes to the dead-letter state with `reason` and can be replayed after a fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _details(event: HiringEvent) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if isinstance(event, OfferCreated | OfferAccepted | CandidateHired) and event.start_date:
        details["start_date"] = event.start_date.isoformat()
    if isinstance(event, CandidateRejected | EmployeeTerminated) and event.reason:
        details["reason"] = event.reason
    if isinstance(event, EmployeeOnboarded):
        details["completed_on"] = event.completed_on.isoformat()
    if isinstance(event, EmployeeTerminated):
        details["terminated_on"] = event.terminated_on.isoformat()
        details["voluntary"] = event.voluntary
    return details


async def apply_hiring_event(
    session: AsyncSession, publisher: Publisher, context: EventContext, event: HiringEvent
) -> None:
    """Applies one canonical event in the caller's transaction; applying the same set of events
    in any order converges to the same state; applying one twice changes nothing."""
    candidate = await _candidate(session, context, event)
    application: Application | None = None
    if not isinstance(event, EmployeeOnboarded | EmployeeTerminated):
        application = await _application(session, context, candidate, event)
    recorded = await HistoryRepository(session).record(
        PipelineEvent(
            engagement_id=context.engagement_id,
            client_id=context.client_id,
            partner_id=context.partner_id,
            candidate_id=candidate.id,
            application_id=application.id if application else None,
            kind=event.kind,
            stage=event.stage if isinstance(event, ApplicationCreated | StageChanged) else None,
            occurred_at=event.occurred_at,
            actor=f"hris_source:{context.source_id}",
            source_id=context.source_id,
            event_key=f"{context.source_id}:{event.event_id}",
            details=_details(event),
        )
    )
    if not recorded:
        return
    settler = Settler(session, publisher)
    if application is not None:
        await settler.settle_application(application)
        return
    # An employee event before its hire waits in the history: the hire applies it.
    for member in await TeamMemberRepository(session).of_candidate(candidate.id):
        await settler.settle_employee(member)


async def _candidate(session: AsyncSession, context: EventContext, event: HiringEvent) -> Candidate:
    candidates = CandidateRepository(session)
    person = event.candidate
    # Held until the transaction ends: everything that happens to a person is applied one
    # event at a time, so each one derives from all that came before.
    candidate = await candidates.by_external_id(
        context.source_id, person.external_id, for_update=True
    )
    if candidate is None:
        return await candidates.add_from_source(
            Candidate(
                engagement_id=context.engagement_id,
                client_id=context.client_id,
                partner_id=context.partner_id,
                source_id=context.source_id,
                external_id=person.external_id,
                name=person.name,
                email=person.email,
            )
        )
    # An erased candidate stays erased: later events do not bring the person back.
    if candidate.erased_at is None and (
        (person.name and person.name != candidate.name)
        or (person.email and person.email != candidate.email)
    ):
        candidate.name = person.name or candidate.name
        candidate.email = person.email or candidate.email
        await session.flush()
    return candidate


async def _application(
    session: AsyncSession, context: EventContext, candidate: Candidate, event: HiringEvent
) -> Application:
    assert not isinstance(event, EmployeeOnboarded | EmployeeTerminated)
    applications = ApplicationRepository(session)
    application = await applications.by_external_id(context.source_id, event.application_id)
    if application is not None:
        return application
    requisition = (
        await session.scalars(
            select(Requisition).where(
                col(Requisition.engagement_id) == context.engagement_id,
                col(Requisition.external_job_id) == event.job_id,
            )
        )
    ).one_or_none()
    if requisition is None:
        raise EventRejected(
            f"No requisition of engagement {context.engagement_id} names job {event.job_id!r} "
            "as its external_job_id; set it on the requisition, then replay."
        )
    return await applications.add_from_source(
        Application(
            engagement_id=context.engagement_id,
            client_id=context.client_id,
            partner_id=context.partner_id,
            candidate_id=candidate.id,
            requisition_id=requisition.id,
            source_id=context.source_id,
            external_id=event.application_id,
            # Placeholders until the history settles it, in this same transaction.
            stage=(
                event.stage
                if isinstance(event, ApplicationCreated | StageChanged)
                else ApplicationStage.SOURCED
            ),
            stage_entered_at=event.occurred_at,
        )
    )
