from uuid import UUID

from sqlalchemy import func
from sqlmodel import col, select

from handover_engagements.transfer_plans.models import TransferPlanItem
from handover_engagements.transfer_plans.schemas import FINISHED
from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository


class TransferPlanItemRepository(Repository[TransferPlanItem]):
    model = TransferPlanItem

    async def add_all(self, items: list[TransferPlanItem]) -> None:
        self.session.add_all(items)
        await self.session.flush()

    async def of(
        self, engagement_id: UUID, item_id: UUID, *, for_update: bool = False
    ) -> TransferPlanItem | None:
        """The item, if it is the engagement's; `for_update` locks it until the transaction
        ends, so a version checked is still the version written."""
        statement = select(TransferPlanItem).where(
            col(TransferPlanItem.id) == item_id,
            col(TransferPlanItem.engagement_id) == engagement_id,
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).first()

    async def counts(self, engagement_id: UUID) -> tuple[int, int]:
        """How many items the plan has, and how many of them are finished."""
        finished = func.count().filter(col(TransferPlanItem.status).in_(FINISHED))
        row = (
            await self.session.execute(
                select(func.count(), finished).where(
                    col(TransferPlanItem.engagement_id) == engagement_id
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    async def unfinished(self, engagement_id: UUID) -> list[TransferPlanItem]:
        return list(
            (
                await self.session.scalars(
                    select(TransferPlanItem)
                    .where(
                        col(TransferPlanItem.engagement_id) == engagement_id,
                        col(TransferPlanItem.status).not_in(FINISHED),
                    )
                    .order_by(col(TransferPlanItem.id))
                )
            ).all()
        )

    async def save(self, item: TransferPlanItem) -> TransferPlanItem:
        self.session.add(item)
        await self.session.flush()
        await self.session.refresh(item)
        return item

    async def list(
        self, engagement_id: UUID, page: PageRequest
    ) -> tuple[list[TransferPlanItem], str | None]:
        return await self.page(
            page,
            key=col(TransferPlanItem.id),
            after=page.after_id(),
            equal={col(TransferPlanItem.engagement_id): engagement_id},
        )
