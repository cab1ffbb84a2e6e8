from collections.abc import Sequence
from uuid import UUID

from sqlmodel import col

from handover_kit.db import flush_unique
from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository
from handover_talent.members.repository import TeamMemberRepository
from handover_talent.requisitions.models import Requisition
from handover_talent.requisitions.schemas import RequisitionStatus


class RequisitionRepository(Repository[Requisition]):
    model = Requisition

    async def list(
        self,
        page: PageRequest,
        *,
        engagement_id: UUID | None,
        status: RequisitionStatus | None,
    ) -> tuple[list[Requisition], str | None]:
        return await self.page(
            page,
            key=col(Requisition.id),
            after=page.after_id(),
            equal={col(Requisition.engagement_id): engagement_id, col(Requisition.status): status},
        )

    async def save(self, requisition: Requisition) -> Requisition:
        await flush_unique(self.session)
        await self.session.refresh(requisition)
        return requisition

    async def for_counting(self, requisition_id: UUID) -> Requisition | None:
        """The requisition, locked so that hires for it count each other one at a time. FOR NO
        KEY UPDATE, not FOR UPDATE: inserting an application or a member for it takes a
        key-share lock, which two processors could each hold while waiting for the other's to
        count a hire (a deadlock); the two do not conflict."""
        return await self.session.get(
            Requisition, requisition_id, with_for_update={"key_share": True}
        )

    async def hired_counts(self, requisition_ids: Sequence[UUID]) -> dict[UUID, int]:
        return await TeamMemberRepository(self.session).hired_counts(requisition_ids)
