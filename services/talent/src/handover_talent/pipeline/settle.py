"""Brings applications, team members and requisitions in line with the recorded history, and
tells kpi each fact the moment it becomes true, in the same transaction.

Whatever recorded an event (the API or a source) calls `settle_application` after it: the
state is derived from the whole history each time, so it does not matter which came first.
Each fact is told once, guarded by a flag on the row it is about.
"""

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from handover_kit.outbox import Publisher
from handover_shared.hiring_events import ApplicationStage
from handover_shared.messages import MessageType, PayloadModelT
from handover_shared.talent import (
    HEADCOUNT_CHANGED,
    HIRE_REVERSED,
    MEMBER_HIRED,
    MEMBER_TERMINATED,
    OFFER_DECIDED,
    OFFER_MADE,
    ONBOARDING_COMPLETED,
    REQUISITION_FILLED,
    HeadcountChanged,
    HireReversed,
    MemberHired,
    MemberTerminated,
    OfferDecided,
    OfferMade,
    OnboardingCompleted,
    RequisitionFilled,
)
from handover_talent.clients import kpi
from handover_talent.members.models import TeamMember
from handover_talent.members.repository import TeamMemberRepository
from handover_talent.members.schemas import EMPLOYED, MemberStatus
from handover_talent.pipeline.history import (
    ApplicationState,
    derive_application,
    derive_employment,
)
from handover_talent.pipeline.models import Application
from handover_talent.pipeline.repository import HistoryRepository, entries
from handover_talent.requisitions.models import Requisition
from handover_talent.requisitions.repository import RequisitionRepository
from handover_talent.requisitions.schemas import RequisitionStatus


class Settler:
    def __init__(self, session: AsyncSession, publisher: Publisher) -> None:
        self.session = session
        self.publisher = publisher
        self.history = HistoryRepository(session)
        self.members = TeamMemberRepository(session)

    async def settle_application(self, application: Application) -> None:
        state = derive_application(entries(await self.history.of_application(application.id)))
        if state is None:
            return
        application.stage = state.stage
        application.stage_entered_at = state.stage_entered_at
        application.offer_made_at = state.offer_made_at
        application.offer_decided_at = state.offer_decided_at
        application.offer_accepted = state.offer_accepted
        application.hired_at = state.hired_at
        application.start_date = state.start_date
        await self._tell_offer(application)
        await self.session.flush()
        await self._settle_member(application, state)

    async def _tell_offer(self, application: Application) -> None:
        parties = {
            "application_id": application.id,
            "requisition_id": application.requisition_id,
            "engagement_id": application.engagement_id,
            "client_id": application.client_id,
            "partner_id": application.partner_id,
        }
        if application.offer_made_at is not None and not application.offer_made_told:
            application.offer_made_told = True
            made = OfferMade(**parties, made_at=application.offer_made_at)
            await self._tell(OFFER_MADE, made, application.id)
        if (
            application.offer_decided_at is not None
            and application.offer_accepted is not None
            and not application.offer_decided_told
        ):
            application.offer_decided_told = True
            decided = OfferDecided(
                **parties,
                accepted=application.offer_accepted,
                decided_at=application.offer_decided_at,
            )
            await self._tell(OFFER_DECIDED, decided, application.id)

    async def _settle_member(self, application: Application, state: ApplicationState) -> None:
        member = await self.members.of_application(application.id)
        if member is None and state.hired_at is None:
            return  # no hire came or went: the requisition's count stands
        was_employed = member is not None and member.status in EMPLOYED
        # Locked: hires for one requisition count each other, however concurrent.
        requisition = await RequisitionRepository(self.session).for_counting(
            application.requisition_id
        )
        assert requisition is not None
        if state.hired_at is not None:
            start_date = state.start_date or state.hired_at.date()
            if member is None:
                member = TeamMember(
                    engagement_id=application.engagement_id,
                    client_id=application.client_id,
                    partner_id=application.partner_id,
                    candidate_id=application.candidate_id,
                    application_id=application.id,
                    requisition_id=requisition.id,
                    role_id=requisition.role_id,
                    title=requisition.title,
                    status=MemberStatus.ONBOARDING,
                    start_date=start_date,
                    hired_at=state.hired_at,
                    employer_entity_id=requisition.partner_entity_id,
                )
                member = await self.members.add(member)
            else:
                if member.hired_at != state.hired_at:
                    # Another hire than the one told (a reversal and a re-hire settled at once,
                    # or an earlier hire arrived late): the one told is taken back first.
                    await self._tell_reversal(member, state)
                member.start_date = start_date
                member.hired_at = state.hired_at
            await self._settle_employment(member)
            if not member.hired_told:
                member.hired_told = True
                await self._tell(MEMBER_HIRED, _hired(member), member.id)
        elif member is not None and member.status is not MemberStatus.REVERSED:
            member.status = MemberStatus.REVERSED
            await self._tell_reversal(member, state)
        if member is not None:
            await self._save_member(member, was_employed)
        await self.settle_requisition(requisition)

    async def _tell_reversal(self, member: TeamMember, state: ApplicationState) -> None:
        """Once per hire told (`member.hired_at`) that no longer stands; `hired_told` is cleared,
        so a hire made again is told."""
        if not member.hired_told:
            return
        member.hired_told = False
        reversed_at = next(
            (
                period.left_at
                for period in state.periods
                if period.stage is ApplicationStage.HIRED
                and period.entered_at == member.hired_at
                and period.left_at is not None
            ),
            datetime.now(UTC),
        )
        reversal = HireReversed(**dict(_hired(member)), reversed_at=reversed_at)
        await self._tell(HIRE_REVERSED, reversal, member.id)

    async def _settle_employment(self, member: TeamMember) -> None:
        assert member.candidate_id is not None
        assert member.application_id is not None
        employment = derive_employment(
            await self.history.employment_of(member.candidate_id, member.application_id)
        )
        member.onboarded_on = employment.onboarded_on
        member.terminated_on = employment.terminated_on
        member.voluntary = employment.voluntary
        member.termination_reason = employment.reason
        if employment.terminated_on is not None:
            member.status = MemberStatus.TERMINATED
        elif employment.onboarded_on is not None:
            member.status = MemberStatus.ACTIVE
        else:
            member.status = MemberStatus.ONBOARDING
        parties = {
            "team_member_id": member.id,
            "engagement_id": member.engagement_id,
            "client_id": member.client_id,
            "partner_id": member.partner_id,
        }
        if employment.onboarded_on is not None and not member.onboarded_told:
            member.onboarded_told = True
            onboarded = OnboardingCompleted(
                **parties, start_date=member.start_date, completed_on=employment.onboarded_on
            )
            await self._tell(ONBOARDING_COMPLETED, onboarded, member.id)
        if (
            employment.terminated_on is not None
            and employment.voluntary is not None
            and not member.terminated_told
        ):
            member.terminated_told = True
            terminated = MemberTerminated(
                **parties, terminated_on=employment.terminated_on, voluntary=employment.voluntary
            )
            await self._tell(MEMBER_TERMINATED, terminated, member.id)

    async def settle_employee(self, member: TeamMember) -> None:
        """After an employee event about a member that exists."""
        was_employed = member.status in EMPLOYED
        if member.status is MemberStatus.REVERSED:
            return
        await self._settle_employment(member)
        await self._save_member(member, was_employed)

    async def _save_member(self, member: TeamMember, was_employed: bool) -> None:
        """Save a settled member; the engagement's head count is told when it changed."""
        member.version += 1
        await self.members.save(member)
        if was_employed != (member.status in EMPLOYED):
            await self.tell_headcount(member)

    async def tell_headcount(self, member: TeamMember) -> None:
        # Held to the end of the transaction: changes to one engagement's team tell their head
        # counts one after another, so the latest figure told counts every change before it.
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"talent.headcount:{member.engagement_id}"},
        )
        headcount = HeadcountChanged(
            engagement_id=member.engagement_id,
            client_id=member.client_id,
            partner_id=member.partner_id,
            headcount=await self.members.employed_count(member.engagement_id),
            as_of=datetime.now(UTC),
        )
        await self._tell(HEADCOUNT_CHANGED, headcount, member.engagement_id)

    async def settle_requisition(self, requisition: Requisition) -> None:
        """Filled once every position is hired; open again if a hire is taken back."""
        hires = await self.members.hired_for(requisition.id)
        if (
            requisition.status in (RequisitionStatus.OPEN, RequisitionStatus.ON_HOLD)
            and len(hires) >= requisition.headcount
        ):
            requisition.status = RequisitionStatus.FILLED
            requisition.filled_at = max(member.hired_at for member in hires)
            requisition.version += 1
            await self.session.flush()
            filled = RequisitionFilled(
                requisition_id=requisition.id,
                engagement_id=requisition.engagement_id,
                client_id=requisition.client_id,
                partner_id=requisition.partner_id,
                filled_at=requisition.filled_at,
            )
            await self._tell(REQUISITION_FILLED, filled, requisition.id)
        elif requisition.status is RequisitionStatus.FILLED and len(hires) < requisition.headcount:
            requisition.status = RequisitionStatus.OPEN
            requisition.filled_at = None
            requisition.version += 1
            await self.session.flush()

    async def _tell(
        self, kind: MessageType[PayloadModelT], payload: PayloadModelT, aggregate_id: UUID
    ) -> None:
        """Every fact settled here is kpi's to count."""
        await self.publisher.tell(kpi.UPSTREAM, kind, payload, aggregate_id=aggregate_id)


def _hired(member: TeamMember) -> MemberHired:
    """The hire as `member_hired` tells it, and as `hire_reversed` takes it back."""
    return MemberHired(
        team_member_id=member.id,
        engagement_id=member.engagement_id,
        client_id=member.client_id,
        partner_id=member.partner_id,
        requisition_id=member.requisition_id,
        application_id=member.application_id,
        hired_at=member.hired_at,
        start_date=member.start_date,
    )
