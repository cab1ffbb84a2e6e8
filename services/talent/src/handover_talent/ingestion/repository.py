from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from handover_kit.pagination import PageRequest, paginate
from handover_kit.repository import Repository
from handover_talent.ingestion.models import HrisEvent, HrisSource
from handover_talent.ingestion.schemas import EventStatus

CHANNEL = "talent_hris_events"
"""NOTIFY channel: the processor wakes when an event is stored or replayed."""


class SourceRepository(Repository[HrisSource]):
    model = HrisSource

    async def list(
        self, page: PageRequest, *, engagement_id: UUID | None
    ) -> tuple[list[HrisSource], str | None]:
        return await self.page(
            page,
            key=col(HrisSource.id),
            after=page.after_id(),
            equal={col(HrisSource.engagement_id): engagement_id},
        )


class EventRepository(Repository[HrisEvent]):
    model = HrisEvent

    async def store(self, source: HrisSource, **values: Any) -> tuple[HrisEvent, bool]:
        """Store an event once per (source, event id); True if it is new. A redelivery is
        stored as a `duplicate` of the first, without its body. The unique index decides, so
        two deliveries at once cannot both be new: the second waits for the first's commit."""
        t = HrisEvent.metadata.tables["talent.hris_events"]
        parties = {
            "source_id": source.id,
            "client_id": source.client_id,
            "partner_id": source.partner_id,
        }
        inserted = (
            await self.session.execute(
                insert(t)
                .values(**parties, **values)
                .on_conflict_do_nothing(
                    index_elements=[t.c.source_id, t.c.event_id],
                    index_where=t.c.duplicate_of.is_(None),
                )
                .returning(t.c.id)
            )
        ).scalar()
        if inserted is not None:
            await self.session.execute(select(func.pg_notify(CHANNEL, "")))
            return await self._get(inserted), True
        original = (
            await self.session.execute(
                select(t.c.id).where(
                    t.c.source_id == source.id,
                    t.c.event_id == values["event_id"],
                    t.c.duplicate_of.is_(None),
                )
            )
        ).scalar_one()
        duplicate = {
            **values,
            "body": None,
            "status": EventStatus.DUPLICATE,
            "duplicate_of": original,
            "processed_at": func.now(),
        }
        row_id = (
            await self.session.execute(insert(t).values(**parties, **duplicate).returning(t.c.id))
        ).scalar_one()
        return await self._get(row_id), False

    async def _get(self, id: UUID) -> HrisEvent:
        row = await self.session.get(HrisEvent, id)
        assert row is not None
        return row

    async def list(
        self,
        page: PageRequest,
        *,
        source_id: UUID,
        status: EventStatus | None,
        kind: str | None,
        received_from: datetime | None,
    ) -> tuple[list[HrisEvent], str | None]:
        statement = select(HrisEvent).where(col(HrisEvent.source_id) == source_id)
        if status is not None:
            statement = statement.where(col(HrisEvent.status) == status)
        if kind is not None:
            statement = statement.where(col(HrisEvent.kind) == kind)
        if received_from is not None:
            statement = statement.where(col(HrisEvent.received_at) >= received_from)
        return await paginate(self.session, statement, col(HrisEvent.id), page, page.after_id())

    async def replay(self, event: HrisEvent) -> HrisEvent | None:
        """Queue a dead event again; None if it is not dead (any more)."""
        replayed = (
            await self.session.execute(
                update(HrisEvent)
                .where(col(HrisEvent.id) == event.id, col(HrisEvent.status) == EventStatus.DEAD)
                .values(status=EventStatus.RECEIVED, processed_at=None)
                .returning(col(HrisEvent.id))
            )
        ).scalar()
        if replayed is None:
            return None
        await self.session.execute(select(func.pg_notify(CHANNEL, "")))
        await self.session.refresh(event)
        return event

    async def bury(self, id: UUID, reason: str) -> None:
        """Make a waiting event dead without applying it."""
        await self.session.execute(
            update(HrisEvent)
            .where(col(HrisEvent.id) == id, col(HrisEvent.status) == EventStatus.RECEIVED)
            .values(
                status=EventStatus.DEAD,
                reason=reason,
                attempts=col(HrisEvent.attempts) + 1,
                processed_at=func.now(),
            )
        )

    async def claim_next(self) -> HrisEvent | None:
        """The oldest event waiting, locked for this transaction; events other processors hold
        are skipped, not waited for."""
        statement = (
            select(HrisEvent)
            .where(col(HrisEvent.status) == EventStatus.RECEIVED)
            .order_by(col(HrisEvent.id))
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(statement)).first()


_FORGOTTEN: dict[str, Any] = {"body": None, "headers": {}}


async def forget_candidate_deliveries(
    session: AsyncSession, source_id: UUID, candidate_external_id: str
) -> int:
    """Erase what a source sent about one candidate: bodies and headers go, the log's facts
    (kinds, statuses, times) stay. For the candidate's erasure, in its transaction; how many
    deliveries held something of them."""
    erased = await session.execute(
        update(HrisEvent)
        .where(
            col(HrisEvent.source_id) == source_id,
            col(HrisEvent.candidate_ref) == candidate_external_id,
        )
        .values(**_FORGOTTEN, candidate_ref=None)
    )
    return cast(CursorResult[Any], erased).rowcount


async def forget_settled_bodies(session: AsyncSession, older_than: timedelta) -> int:
    """Drop the bodies of events settled longer ago than `older_than`: they hold candidates'
    data and nothing needs them any more. Dead events keep theirs until they are replayed."""
    forgotten = await session.execute(
        update(HrisEvent)
        .where(
            col(HrisEvent.body).is_not(None),
            col(HrisEvent.status).in_([EventStatus.APPLIED, EventStatus.IGNORED]),
            col(HrisEvent.processed_at) < func.now() - older_than,
        )
        .values(**_FORGOTTEN)
    )
    return cast(CursorResult[Any], forgotten).rowcount
