from datetime import date
from uuid import UUID

from handover_kit.auth import Principal
from handover_kit.outbox import Publisher
from handover_kit.pagination import PageRequest
from handover_shared.problems import FieldError
from handover_shared.talent import EmploymentStatus
from handover_talent.clients.engagements import EngagementsClient
from handover_talent.errors import (
    InvalidReference,
    MemberStateConflict,
    NoEmployingEntity,
    TeamMemberNotFound,
    TransferNotFound,
)
from handover_talent.members.models import EmploymentTransfer, EmploymentTransition, TeamMember
from handover_talent.members.repository import TeamMemberRepository, TransferRepository
from handover_talent.members.schemas import (
    EMPLOYED,
    EmploymentTransferCreate,
    MemberStatus,
    Termination,
)
from handover_talent.pipeline import history
from handover_talent.pipeline.repository import CandidateRepository, HistoryRepository
from handover_talent.pipeline.service import api_event
from handover_talent.pipeline.settle import Settler

NOT_MOVED_LIMIT = 100


class TeamMemberService:
    def __init__(
        self,
        members: TeamMemberRepository,
        transfers: TransferRepository,
        publisher: Publisher,
    ) -> None:
        self.members = members
        self.transfers = transfers
        self.history = HistoryRepository(members.session)
        self.settler = Settler(members.session, publisher)

    async def get(self, member_id: UUID) -> TeamMember:
        member = await self.members.get(member_id)
        if member is None:
            raise TeamMemberNotFound(f"There is no team member {member_id}.")
        return member

    async def _locked(self, member_id: UUID) -> TeamMember:
        """The member, read again once their candidate is locked: nothing else changes them
        until this transaction ends."""
        member = await self.get(member_id)
        if member.candidate_id is not None:
            await CandidateRepository(self.members.session).lock(member.candidate_id)
            await self.members.session.refresh(member)
        return member

    async def complete_onboarding(
        self, member_id: UUID, completed_on: date, principal: Principal
    ) -> TeamMember:
        member = await self._locked(member_id)
        if member.status is not MemberStatus.ONBOARDING:
            raise MemberStateConflict(
                f"Team member {member_id} is {member.status}: only a member in onboarding "
                "completes it.",
                current=member.status,
            )
        await self._record(
            member,
            principal,
            history.ONBOARDED,
            {"completed_on": completed_on.isoformat()},
        )
        return member

    async def terminate(
        self, member_id: UUID, termination: Termination, principal: Principal
    ) -> TeamMember:
        member = await self._locked(member_id)
        if member.status not in EMPLOYED:
            raise MemberStateConflict(
                f"Team member {member_id} is {member.status}: only an employed member leaves.",
                current=member.status,
            )
        details: dict[str, object] = {
            "terminated_on": termination.terminated_on.isoformat(),
            "voluntary": termination.voluntary,
        }
        if termination.reason is not None:
            details["reason"] = termination.reason
        await self._record(member, principal, history.TERMINATED, details)
        return member

    async def _record(
        self, member: TeamMember, principal: Principal, kind: str, details: dict[str, object]
    ) -> None:
        assert member.candidate_id is not None
        await self.history.record(
            api_event(
                member,
                principal,
                candidate_id=member.candidate_id,
                kind=kind,
                occurred_at=None,
                application_id=member.application_id,
                details=details,
            )
        )
        await self.settler.settle_employee(member)

    async def transfer(
        self, data: EmploymentTransferCreate, principal: Principal, engagements: EngagementsClient
    ) -> tuple[EmploymentTransfer, list[EmploymentTransition]]:
        engagement = await engagements.visible_engagement(
            data.engagement_id, principal, ["body", "engagement_id"]
        )
        if engagement.client_entity_id is None:
            raise NoEmployingEntity(
                f"Engagement {engagement.id} names no client entity to employ the team: set "
                "`client_entity_id` in the engagements service first.",
                engagement_id=str(engagement.id),
            )
        wanted = sorted(set(data.team_member_ids))
        members = [
            member
            for member in await self.members.many(wanted)
            if member.engagement_id == engagement.id
        ]
        unknown = sorted(set(wanted) - {member.id for member in members})
        if unknown:
            raise InvalidReference(
                f"{len(unknown)} of the team members are not in engagement {engagement.id}.",
                errors=[
                    FieldError(
                        loc=["body", "team_member_ids", data.team_member_ids.index(member_id)],
                        msg="No such team member in this engagement",
                        type="not_found",
                    )
                    for member_id in unknown
                ],
            )
        not_employed = [member.id for member in members if member.status not in EMPLOYED]
        if not_employed:
            raise MemberStateConflict(
                "Only employed team members can move: "
                f"{', '.join(str(member_id) for member_id in not_employed)} are not.",
                not_employed=[str(member_id) for member_id in not_employed],
            )
        transfer = await self.transfers.add(
            EmploymentTransfer(
                engagement_id=engagement.id,
                client_id=engagement.client_id,
                partner_id=engagement.partner_id,
                to_entity_id=engagement.client_entity_id,
                effective_date=data.effective_date,
                actor=f"{principal.kind}:{principal.id}",
            )
        )
        transitions = []
        for member in members:
            if member.employer_entity_id == engagement.client_entity_id:
                continue
            transitions.append(
                await self.transfers.add_transition(
                    EmploymentTransition(
                        engagement_id=engagement.id,
                        client_id=member.client_id,
                        partner_id=member.partner_id,
                        transfer_id=transfer.id,
                        team_member_id=member.id,
                        from_entity_id=member.employer_entity_id,
                        to_entity_id=engagement.client_entity_id,
                        effective_date=data.effective_date,
                    )
                )
            )
            member.employer_entity_id = engagement.client_entity_id
            member.version += 1
        await self.members.session.flush()
        return transfer, transitions

    async def get_transfer(
        self, transfer_id: UUID
    ) -> tuple[EmploymentTransfer, list[EmploymentTransition]]:
        transfer = await self.transfers.get(transfer_id)
        if transfer is None:
            raise TransferNotFound(f"There is no employment transfer {transfer_id}.")
        return transfer, await self.transfers.transitions(transfer.id)

    async def list(
        self,
        page: PageRequest,
        *,
        engagement_id: UUID | None,
        status: MemberStatus | None,
        employer_entity_id: UUID | None,
    ) -> tuple[list[TeamMember], str | None]:
        return await self.members.list(
            page, engagement_id=engagement_id, status=status, employer_entity_id=employer_entity_id
        )

    async def employment(self, engagement_id: UUID, employer_entity_id: UUID) -> EmploymentStatus:
        employed = await self.members.employed(engagement_id)
        not_moved = [m.id for m in employed if m.employer_entity_id != employer_entity_id]
        return EmploymentStatus(
            engagement_id=engagement_id,
            employer_entity_id=employer_entity_id,
            active_members=len(employed),
            moved=len(employed) - len(not_moved),
            not_moved=not_moved[:NOT_MOVED_LIMIT],
        )
