"""Applies stored events, asynchronously, each exactly once.

    webhook / batch -> hris_events (committed, NOTIFY) -> Processor -> apply -> applied | dead

A batch of events per transaction: the processor locks the oldest `received` events (`FOR
UPDATE SKIP LOCKED`, so replicas share the work), applies each as its source's tenant in a
savepoint of its own, and records the outcomes in that same transaction. The changes and the
`applied` marks commit together or not at all: a processor killed mid-way leaves the events
`received`, and the next one applies them then. Batching spares each event a transaction, the
claim and the source's read; after a failure, events are taken one at a time until one passes,
so a failing event holds back no batch of others.

An event the pipeline refuses, or that fails, becomes `dead` with the reason, and waits for a
replay. A database that went away is not the event's fault: the transaction is dropped and the
event is tried again once the database is back.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import structlog
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from handover_kit.db import ALL_TENANTS, Database, dsn
from handover_kit.errors import database_unreachable
from handover_kit.outbox import Publisher
from handover_shared.hiring_events import HiringEvent
from handover_talent.db import MESSAGING
from handover_talent.errors import UnreadableDelivery
from handover_talent.ingestion.adapters import ADAPTERS
from handover_talent.ingestion.models import HrisSource
from handover_talent.ingestion.repository import (
    CHANNEL,
    Claimed,
    EventRepository,
    Outcome,
    SourceRepository,
    forget_settled_bodies,
)
from handover_talent.ingestion.schemas import EventChannel, EventStatus

log = structlog.get_logger(__name__)

ApplyEvent = Callable[[AsyncSession, Publisher, HrisSource, HiringEvent], Awaitable[None]]
"""Applies one canonical event of a source in the caller's transaction; raises to refuse it."""

CANONICAL: TypeAdapter[HiringEvent] = TypeAdapter(HiringEvent)
_MAX_REASON = 1000
TIDY_EVERY_SECONDS = 3600.0
MAX_FAILURES = 5
BATCH_SIZE = 32
"""Events per transaction: their locks (candidates, requisitions) are held until it commits."""
_ACT_AS = text(
    "SELECT set_config('handover.tenant', :tenant, true),"
    " set_config('handover.all_tenants', :all_tenants, true)"
)


class Processor:
    def __init__(
        self,
        db: Database,
        apply: ApplyEvent,
        *,
        poll_interval: float,
        body_retention: timedelta = timedelta(days=30),
    ) -> None:
        self.db = db
        self.apply = apply
        self.poll_interval = poll_interval
        self.body_retention = body_retention
        self._wake = asyncio.Event()
        self._next_tidy = 0.0
        self._current: UUID | None = None
        self._failures: dict[UUID, int] = {}

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self.run(), name="hris event processor")
        try:
            yield
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise

    async def run(self) -> None:
        listener: asyncpg.Connection | None = None
        try:
            while True:
                listener = await self._listen(listener)
                self._wake.clear()
                try:
                    while await self.run_once():
                        pass
                    await self._tidy()
                except Exception as exc:  # the database may be away; poll again after the interval
                    log.exception("hris processor cycle failed")
                    await self._count_failure(exc)
                try:
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass
        finally:
            if listener is not None:
                listener.terminate()

    async def run_once(self) -> bool:
        """Apply the oldest waiting events; False if none waits."""
        limit = 1 if self._failures else BATCH_SIZE
        async with self.db.session(ALL_TENANTS) as session, session.begin():
            events = EventRepository(session)
            claimed = await events.claim(limit)
            if not claimed:
                return False
            sources = await SourceRepository(session).of_ids({e.source_id for e in claimed})
            publisher = MESSAGING.publisher(session, source="talent")
            outcomes = []
            tenant: UUID | None = None
            for event in claimed:
                self._current = event.id
                source = sources[event.source_id]  # a foreign key
                if source.client_id != tenant:
                    # As the source's tenant: row-level security holds the apply to it.
                    tenant = source.client_id
                    await session.execute(_ACT_AS, {"tenant": str(tenant), "all_tenants": ""})
                status, reason = await self._apply(session, publisher, source, event)
                outcomes.append(
                    Outcome(event.id, status, reason, event.attempts + 1, datetime.now(UTC))
                )
                log.info("hris_event_processed", hris_event=str(event.id), status=status.value)
            self._current = None
            # The batch may span tenants: its outcomes are recorded as the service.
            await session.execute(_ACT_AS, {"tenant": "", "all_tenants": "on"})
            await events.settle(outcomes)
        self._failures.clear()
        return True

    async def _count_failure(self, exc: Exception) -> None:
        """An event whose processing keeps failing outside the pipeline's refusals (its
        transaction cannot even record an outcome) would hold back every later one: after
        `MAX_FAILURES` it is buried as dead, in a transaction of its own."""
        event_id, self._current = self._current, None
        if event_id is None:
            return
        self._failures[event_id] = self._failures.get(event_id, 0) + 1
        if self._failures[event_id] < MAX_FAILURES:
            return
        try:
            async with self.db.session(ALL_TENANTS) as session, session.begin():
                await EventRepository(session).bury(
                    event_id, f"Processing failed {MAX_FAILURES} times: {_reason(exc)}"
                )
            del self._failures[event_id]
        except Exception:  # the database is away after all: the count stands, try again later
            log.warning("hris event not buried", hris_event=str(event_id), exc_info=True)

    async def tidy(self) -> int:
        """Forget the bodies of events settled longer ago than the retention."""
        async with self.db.session(ALL_TENANTS) as session, session.begin():
            forgotten = await forget_settled_bodies(session, self.body_retention)
        if forgotten:
            log.info("hris_bodies_forgotten", count=forgotten)
        return forgotten

    async def _tidy(self) -> None:
        # Replicas that tidy at once only repeat each other.
        if time.monotonic() >= self._next_tidy:
            await self.tidy()
            self._next_tidy = time.monotonic() + TIDY_EVERY_SECONDS

    async def _apply(
        self, session: AsyncSession, publisher: Publisher, source: HrisSource, event: Claimed
    ) -> tuple[EventStatus, str | None]:
        try:
            canonical = _read(source, event)
            if canonical is None:
                return EventStatus.IGNORED, event.reason
            async with session.begin_nested():
                await self.apply(session, publisher, source, canonical)
        except UnreadableDelivery as exc:
            return EventStatus.DEAD, f"Unreadable: {exc.detail}"
        except Exception as exc:
            if database_unreachable(exc):
                raise
            log.warning("hris_event_dead", hris_event=str(event.id), error=type(exc).__name__)
            return EventStatus.DEAD, _reason(exc)
        return EventStatus.APPLIED, None

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _listen(self, listener: asyncpg.Connection | None) -> asyncpg.Connection | None:
        if listener is not None and not listener.is_closed():
            return listener
        connection: asyncpg.Connection | None = None
        try:
            connection = await asyncpg.connect(
                dsn(self.db.engine.url),
                timeout=5,
                server_settings={"application_name": "talent hris processor"},
            )
            await connection.add_listener(CHANNEL, self._notified)
        except BaseException as exc:
            if connection is not None:
                connection.terminate()
            if not isinstance(exc, Exception):
                raise
            # Polling carries on meanwhile; the next cycle tries again. Raised, it would end
            # the processor, which nothing would notice.
            log.warning("hris processor cannot listen; polling", exc_info=True)
            return None
        return connection


def _read(source: HrisSource, event: Claimed) -> HiringEvent | None:
    if event.body is None:
        raise UnreadableDelivery("Its body was erased; there is nothing left to apply.")
    body = event.body
    if event.channel is EventChannel.BATCH:
        try:
            return CANONICAL.validate_json(body)
        except ValidationError as exc:
            raise UnreadableDelivery(f"{exc.error_count()} invalid field(s)") from None
    adapter = ADAPTERS.get(source.vendor)
    if adapter is None:
        raise UnreadableDelivery(f"No adapter reads {source.vendor!r} deliveries any more.")
    return adapter.read(event.headers, body, event.received_at).event


def _reason(exc: Exception) -> str:
    # A database error's message can quote the row it refused, a candidate's data among it.
    if isinstance(exc, DBAPIError):
        cause = exc.orig.__cause__ if exc.orig is not None else None
        constraint = getattr(cause, "constraint_name", None)
        return f"{type(cause or exc).__name__}" + (f" on {constraint}" if constraint else "")
    return (str(exc) or type(exc).__name__)[:_MAX_REASON]
