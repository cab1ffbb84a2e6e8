"""How a canonical hiring event from an HRIS/ATS source changes the pipeline.

The caller (the ingestion processor) owns the transaction and the dedupe of deliveries; this
module still makes application idempotent and order-independent: each event becomes one row of
the candidate's history, and the state is derived from the whole history, never from the
order in which events arrived.
"""

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from handover_kit.outbox import Publisher
from handover_shared.hiring_events import HiringEvent


@dataclass(frozen=True)
class EventContext:
    source_id: UUID
    """The registered integration."""
    engagement_id: UUID
    """The source's engagement mapping."""
    client_id: UUID
    partner_id: UUID


class EventRejected(Exception):
    """The event cannot be applied as things stand (e.g. no requisition names its job_id);
    it goes to the dead-letter state with `reason` and can be replayed after a fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def apply_hiring_event(
    session: AsyncSession, publisher: Publisher, context: EventContext, event: HiringEvent
) -> None:
    """Applies one canonical event in the caller's transaction; applying the same set of events
    in any order converges to the same state; applying one twice changes nothing."""
    raise EventRejected(f"The pipeline does not apply {event.kind} events yet; replay it later.")
