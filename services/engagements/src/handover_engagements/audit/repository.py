from uuid import UUID

from sqlmodel import col

from handover_engagements.audit.models import AuditEvent
from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository


class AuditEventRepository(Repository[AuditEvent]):
    model = AuditEvent

    async def record(self, event: AuditEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def list(
        self, engagement_id: UUID, page: PageRequest
    ) -> tuple[list[AuditEvent], str | None]:
        # Ids are UUIDv7: id order is the order the events were recorded in.
        return await self.page(
            page,
            key=col(AuditEvent.id),
            after=page.after_id(),
            equal={col(AuditEvent.engagement_id): engagement_id},
        )
