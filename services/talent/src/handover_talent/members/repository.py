from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import BindParameter, bindparam, func
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository
from handover_talent.members.models import EmploymentTransfer, EmploymentTransition, TeamMember
from handover_talent.members.schemas import EMPLOYED, MemberStatus
from handover_talent.requisitions.models import Requisition
from handover_talent.requisitions.schemas import RequisitionStatus

UNFILLED = (RequisitionStatus.DRAFT, RequisitionStatus.OPEN, RequisitionStatus.ON_HOLD)


@dataclass(frozen=True)
class HiringCounts:
    active_members: int
    open_requisitions: int
    unfilled_positions: int


def _hiring_counts() -> Select[Any, int, Any]:
    engagement_id: BindParameter[UUID] = bindparam("engagement_id")
    hired = (
        select(func.count())
        .where(
            col(TeamMember.requisition_id) == col(Requisition.id),
            col(TeamMember.status) != MemberStatus.REVERSED,
        )
        .correlate(Requisition)
        .scalar_subquery()
    )
    active = (
        select(func.count())
        .where(
            col(TeamMember.engagement_id) == engagement_id,
            col(TeamMember.status).in_(EMPLOYED),
        )
        .scalar_subquery()
    )
    requisitions = func.count(col(Requisition.id))
    unfilled = func.coalesce(func.sum(func.greatest(col(Requisition.headcount) - hired, 0)), 0)
    return select(active, requisitions, unfilled).where(
        col(Requisition.engagement_id) == engagement_id,
        col(Requisition.status).in_(UNFILLED),
    )


# Built once: constructing the statement cost more than running it.
_HIRING_COUNTS = _hiring_counts()


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

    async def hiring_counts(self, engagement_id: UUID) -> HiringCounts:
        """An engagement's hiring, in one round trip: the engagements service asks it on every
        gate check."""
        row = (await self.session.execute(_HIRING_COUNTS, {"engagement_id": engagement_id})).one()
        return HiringCounts(*(int(value) for value in row))

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
