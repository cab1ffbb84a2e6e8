from dataclasses import dataclass
from uuid import UUID

from sqlmodel import col, select

from handover_engagements.milestones.models import Milestone
from handover_engagements.milestones.schemas import SETTLED, MilestoneStatus
from handover_kit.pagination import PageRequest, paginate
from handover_kit.repository import Repository
from handover_shared.engagements import Owner, Phase


@dataclass(frozen=True)
class MilestoneFilter:
    phase: Phase | None = None
    status: MilestoneStatus | None = None
    owner: Owner | None = None


class MilestoneRepository(Repository[Milestone]):
    model = Milestone

    async def unfinished(self, engagement_id: UUID, phase: Phase) -> list[Milestone]:
        """The milestones of `phase` that still hold its gate back: neither done nor
        cancelled. Oldest first."""
        return list(
            (
                await self.session.scalars(
                    select(Milestone)
                    .where(
                        col(Milestone.engagement_id) == engagement_id,
                        col(Milestone.phase) == phase,
                        col(Milestone.status).not_in(SETTLED),
                    )
                    .order_by(col(Milestone.id))
                )
            ).all()
        )

    async def list(
        self, engagement_id: UUID, page: PageRequest, filters: MilestoneFilter
    ) -> tuple[list[Milestone], str | None]:
        statement = select(Milestone).where(col(Milestone.engagement_id) == engagement_id)
        for column, value in {
            col(Milestone.phase): filters.phase,
            col(Milestone.status): filters.status,
            col(Milestone.owner): filters.owner,
        }.items():
            if value is not None:
                statement = statement.where(column == value)
        return await paginate(self.session, statement, col(Milestone.id), page, page.after_id())

    async def of(
        self, engagement_id: UUID, milestone_id: UUID, *, for_update: bool = False
    ) -> Milestone | None:
        statement = select(Milestone).where(
            col(Milestone.id) == milestone_id, col(Milestone.engagement_id) == engagement_id
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).first()

    async def save(self, milestone: Milestone) -> Milestone:
        self.session.add(milestone)
        await self.session.flush()
        await self.session.refresh(milestone)
        return milestone
