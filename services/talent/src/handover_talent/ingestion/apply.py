"""How the processor hands a canonical event to the hiring pipeline."""

from sqlalchemy.ext.asyncio import AsyncSession

from handover_kit.outbox import Publisher
from handover_shared.hiring_events import HiringEvent
from handover_talent.ingestion.models import HrisSource


class PipelineUnavailable(Exception):
    """No pipeline applies canonical events in this build yet."""


async def apply_to_pipeline(
    session: AsyncSession, publisher: Publisher, source: HrisSource, event: HiringEvent
) -> None:
    raise PipelineUnavailable(f"No pipeline applies {event.kind} events yet; replay it later.")
