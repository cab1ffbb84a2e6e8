"""The audit trail of an engagement: every change and transition, with who, when, the state
before and after, and the reason given. Recorded in the transaction of the change itself, so
a change and its record commit together or not at all."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from handover_engagements.audit.models import AuditEvent
from handover_engagements.audit.repository import AuditEventRepository
from handover_kit.auth import Principal
from handover_kit.pagination import PageRequest


def _json(state: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if state is None else to_jsonable_python(dict(state))


class AuditTrail:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = AuditEventRepository(session)

    async def record(
        self,
        engagement_id: UUID,
        action: str,
        actor: Principal,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        reason: str | None = None,
    ) -> None:
        """Record `action` (e.g. `engagement.updated`, `milestone.created`) by `actor`.
        `before` and `after` may hold UUIDs, dates and enums: they are stored as JSON."""
        await self.repository.record(
            AuditEvent(
                engagement_id=engagement_id,
                actor=actor.id,
                action=action,
                before=_json(before),
                after=_json(after),
                reason=reason,
            )
        )

    async def list(
        self, engagement_id: UUID, page: PageRequest
    ) -> tuple[list[AuditEvent], str | None]:
        return await self.repository.list(engagement_id, page)
