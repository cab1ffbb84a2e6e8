from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from sqlalchemy import func
from sqlmodel import col, select

from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository
from handover_talent.members.models import EmploymentTransfer, EmploymentTransition, TeamMember
from handover_talent.members.schemas import EMPLOYED, MemberStatus
from handover_talent.requisitions.schemas import RequisitionStatus

UNFILLED = (RequisitionStatus.DRAFT, RequisitionStatus.OPEN, RequisitionStatus.ON_HOLD)


@dataclass(frozen=True)
class HiringCounts:
    active_members: int
    open_requisitions: int
    unfilled_positions: int


# An engagement's hiring in one statement: the engagements service asks it on every gate check.
_HIRING_COUNTS = (
    "SELECT (SELECT count(*) FROM talent.team_members"
    " WHERE engagement_id = $1 AND status = ANY($2::text[])),"
    " count(r.id),"
    " coalesce(sum(greatest(r.headcount - (SELECT count(*) FROM talent.team_members m"
    " WHERE m.requisition_id = r.id AND m.status <> $4), 0)), 0)"
    " FROM talent.requisitions r WHERE r.engagement_id = $1 AND r.status = ANY($3::text[])"
)
_EMPLOYED = [status.value for status in EMPLOYED]
_UNFILLED = [status.value for status in UNFILLED]


class HiringRows:
    """What the engagements service's gate checks read, straight from the driver (see
    `handover_kit.db.Database.raw`)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def counts(self, engagement_id: UUID) -> HiringCounts:
        row = await self.connection.fetchrow(
            _HIRING_COUNTS, engagement_id, _EMPLOYED, _UNFILLED, MemberStatus.REVERSED.value
        )
        assert row is not None
        return HiringCounts(*(int(value) for value in row))


class TeamMemberRepository(Repository[TeamMember]):
    model = TeamMember

    async def of_application(self, application_id: UUID) -> TeamMember | None:
        return (
            await self.session.scalars(
                select(TeamMember).where(col(TeamMember.application_id) == application_id)
            )
        ).one_or_none()

    async def of_candidate(self, candidate_id: UUID) -> list[TeamMember]:
        return list(
            (
                await self.session.scalars(
                    select(TeamMember)
                    .where(col(TeamMember.candidate_id) == candidate_id)
                    .order_by(col(TeamMember.id))
                )
            ).all()
        )

    async def employed_count(self, engagement_id: UUID) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).where(
                    col(TeamMember.engagement_id) == engagement_id,
                    col(TeamMember.status).in_(EMPLOYED),
                )
            )
            or 0
        )

    async def hired_for(self, requisition_id: UUID) -> list[TeamMember]:
        """The requisition's hires that stand: every one but those the source took back."""
        return list(
            (
                await self.session.scalars(
                    select(TeamMember).where(
                        col(TeamMember.requisition_id) == requisition_id,
                        col(TeamMember.status) != MemberStatus.REVERSED,
                    )
                )
            ).all()
        )

    async def hired_counts(self, requisition_ids: Sequence[UUID]) -> dict[UUID, int]:
        rows = await self.session.execute(
            select(col(TeamMember.requisition_id), func.count())
            .where(
                col(TeamMember.requisition_id).in_(requisition_ids),
                col(TeamMember.status) != MemberStatus.REVERSED,
            )
            .group_by(col(TeamMember.requisition_id))
        )
        counts: dict[UUID, int] = {}
        for requisition_id, count in rows:
            if requisition_id is not None:
                counts[requisition_id] = count
        return counts

    async def employed(self, engagement_id: UUID) -> list[TeamMember]:
        return list(
            (
                await self.session.scalars(
                    select(TeamMember)
                    .where(
                        col(TeamMember.engagement_id) == engagement_id,
                        col(TeamMember.status).in_(EMPLOYED),
                    )
                    .order_by(col(TeamMember.id))
                )
            ).all()
        )

    async def many(self, member_ids: Sequence[UUID]) -> list[TeamMember]:
        return list(
            (
                await self.session.scalars(
                    select(TeamMember)
                    .where(col(TeamMember.id).in_(member_ids))
                    .order_by(col(TeamMember.id))
                    .with_for_update()
                )
            ).all()
        )

    async def save(self, member: TeamMember) -> TeamMember:
        await self.session.flush()
        await self.session.refresh(member)
        return member

    async def list(
        self,
        page: PageRequest,
        *,
        engagement_id: UUID | None,
        status: MemberStatus | None,
        employer_entity_id: UUID | None,
    ) -> tuple[list[TeamMember], str | None]:
        return await self.page(
            page,
            key=col(TeamMember.id),
            after=page.after_id(),
            equal={
                col(TeamMember.engagement_id): engagement_id,
                col(TeamMember.status): status,
                col(TeamMember.employer_entity_id): employer_entity_id,
            },
        )


class TransferRepository(Repository[EmploymentTransfer]):
    model = EmploymentTransfer

    async def add_transition(self, transition: EmploymentTransition) -> EmploymentTransition:
        self.session.add(transition)
        await self.session.flush()
        await self.session.refresh(transition)
        return transition

    async def transitions(self, transfer_id: UUID) -> list[EmploymentTransition]:
        return list(
            (
                await self.session.scalars(
                    select(EmploymentTransition)
                    .where(col(EmploymentTransition.transfer_id) == transfer_id)
                    .order_by(col(EmploymentTransition.id))
                )
            ).all()
        )
