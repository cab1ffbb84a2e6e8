from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from handover_engagements.audit.service import AuditTrail
from handover_engagements.engagements.models import Engagement
from handover_engagements.engagements.repository import EngagementRepository
from handover_engagements.errors import EngagementNotFound, TransferPlanItemNotFound
from handover_engagements.transfer_plans.models import TransferPlanItem
from handover_engagements.transfer_plans.repository import TransferPlanItemRepository
from handover_engagements.transfer_plans.schemas import (
    STANDARD_SCOPE,
    TransferPlanItemCreate,
    TransferPlanItemRead,
    TransferPlanItemUpdate,
    TransferPlanRead,
)
from handover_kit.auth import Principal
from handover_kit.concurrency import check_version
from handover_kit.pagination import PageRequest
from handover_shared.engagements import Owner

PLAN_ITEMS_SHOWN = 200

_AUDITED = ("title", "owner", "due_on", "status", "notes")


def _snapshot(item: TransferPlanItem) -> dict[str, Any]:
    return {"item_id": item.id, **{name: getattr(item, name) for name in _AUDITED}}


class TransferPlanService:
    def __init__(self, session: AsyncSession) -> None:
        self.items = TransferPlanItemRepository(session)
        self.engagements = EngagementRepository(session)
        self.audit = AuditTrail(session)

    async def draw_up(self, engagement_id: UUID) -> None:
        """The plan every engagement starts with: the standard scope of a transfer."""
        await self.items.add_all(
            [
                TransferPlanItem(
                    engagement_id=engagement_id, scope=scope, title=title, owner=Owner(owner)
                )
                for scope, (title, owner) in STANDARD_SCOPE.items()
            ]
        )

    async def _engagement(self, engagement_id: UUID) -> Engagement:
        engagement = await self.engagements.get(engagement_id)
        if engagement is None:
            raise EngagementNotFound(f"There is no engagement {engagement_id}.")
        return engagement

    async def plan(self, engagement_id: UUID) -> TransferPlanRead:
        engagement = await self._engagement(engagement_id)
        total, finished = await self.items.counts(engagement_id)
        items, _ = await self.items.list(engagement_id, PageRequest(PLAN_ITEMS_SHOWN, None))
        return TransferPlanRead(
            engagement_id=engagement.id,
            approved_at=engagement.transfer_plan_approved_at,
            approved_by=engagement.transfer_plan_approved_by,
            items_total=total,
            items_finished=finished,
            items=[TransferPlanItemRead.model_validate(item) for item in items],
        )

    async def list(
        self, engagement_id: UUID, page: PageRequest
    ) -> tuple[list[TransferPlanItem], str | None]:
        await self._engagement(engagement_id)
        return await self.items.list(engagement_id, page)

    async def get(
        self, engagement_id: UUID, item_id: UUID, *, for_update: bool = False
    ) -> TransferPlanItem:
        item = await self.items.of(engagement_id, item_id, for_update=for_update)
        if item is None:
            raise TransferPlanItemNotFound(
                f"Engagement {engagement_id} has no transfer plan item {item_id}."
            )
        return item

    async def add(
        self, engagement_id: UUID, data: TransferPlanItemCreate, actor: Principal
    ) -> TransferPlanItem:
        await self._engagement(engagement_id)
        item = await self.items.add(
            TransferPlanItem(engagement_id=engagement_id, **data.model_dump())
        )
        await self.audit.record(
            engagement_id, "transfer_plan_item.added", actor, None, _snapshot(item)
        )
        return item

    async def update(
        self,
        engagement_id: UUID,
        item_id: UUID,
        data: TransferPlanItemUpdate,
        expected_version: int,
        actor: Principal,
    ) -> TransferPlanItem:
        item = await self.get(engagement_id, item_id, for_update=True)
        check_version(expected_version, item.version)
        before = _snapshot(item)
        for name, value in data.model_dump(exclude_unset=True).items():
            setattr(item, name, value)
        after = _snapshot(item)
        names = [name for name in _AUDITED if before[name] != after[name]]
        if not names:
            return item
        item.version += 1
        item = await self.items.save(item)
        await self.audit.record(
            engagement_id,
            "transfer_plan_item.updated",
            actor,
            {"item_id": item.id, **{name: before[name] for name in names}},
            {"item_id": item.id, **{name: after[name] for name in names}},
        )
        return item
