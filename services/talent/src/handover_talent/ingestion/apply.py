"""How the processor hands a canonical event to the hiring pipeline."""

from sqlalchemy.ext.asyncio import AsyncSession

from handover_kit.outbox import Publisher
from handover_shared.hiring_events import HiringEvent
from handover_talent.ingestion.models import HrisSource
from handover_talent.pipeline.apply import EventContext, apply_hiring_event


async def apply_to_pipeline(
    session: AsyncSession, publisher: Publisher, source: HrisSource, event: HiringEvent
) -> None:
    context = EventContext(
        source_id=source.id,
        engagement_id=source.engagement_id,
        client_id=source.client_id,
        partner_id=source.partner_id,
    )
    await apply_hiring_event(session, publisher, context, event)
