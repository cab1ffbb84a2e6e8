"""The HRIS processors are told that deliveries wait: one NOTIFY for many deliveries."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import structlog

from handover_kit.db import Database
from handover_talent.ingestion.repository import CHANNEL

INTERVAL_SECONDS = 0.05

log = structlog.get_logger(__name__)


class ProcessorWakeup:
    """`wake()` once a delivery is committed: a NOTIFY on the processors' channel follows at
    once, then at most one per `interval`, however many deliveries arrive meanwhile.

    A NOTIFY in each delivery's own transaction costs far more: PostgreSQL serialises every
    committing transaction that notified on one lock for the whole database, and wakes every
    listening connection of the database (each service's relay too) to read it. A processor
    busy with a backlog needs none of them, an idle one only the first. Should a NOTIFY fail,
    the processors' poll finds the deliveries."""

    def __init__(self, interval: float = INTERVAL_SECONDS) -> None:
        self.interval = interval
        self._due: asyncio.Event | None = None

    def wake(self) -> None:
        if self._due is not None:
            self._due.set()

    @asynccontextmanager
    async def running(self, db: Database) -> AsyncIterator[None]:
        self._due = asyncio.Event()
        task = asyncio.create_task(self._notify(db, self._due), name="hris processor wakeup")
        try:
            yield
        finally:
            self._due = None
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _notify(self, db: Database, due: asyncio.Event) -> None:
        while True:
            await due.wait()
            due.clear()
            try:
                async with db.connection() as connection:
                    await connection.execute(f"NOTIFY {CHANNEL}")
            except Exception:
                log.warning(
                    "hris processors not notified; their poll finds the deliveries", exc_info=True
                )
            await asyncio.sleep(self.interval)
