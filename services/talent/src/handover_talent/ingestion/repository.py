from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast
from uuid import UUID

import orjson
from sqlalchemy import CursorResult, bindparam, func, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from handover_kit.db import ALL_TENANTS, Database
from handover_kit.pagination import PageRequest, paginate
from handover_kit.repository import Repository
from handover_talent.ingestion.models import HrisEvent, HrisSource
from handover_talent.ingestion.schemas import EventChannel, EventStatus

CHANNEL = "talent_hris_events"
"""NOTIFY channel: the processor wakes when an event is stored or replayed."""


@dataclass(frozen=True)
class SourceKeys:
    """What verifying and storing a delivery needs of its source."""

    id: UUID
    client_id: UUID
    partner_id: UUID
    vendor: str
    secret_sealed: str
    previous_secret_sealed: str | None
    previous_secret_expires_at: datetime | None


class SourceRepository(Repository[HrisSource]):
    model = HrisSource

    async def of_ids(self, ids: Iterable[UUID]) -> dict[UUID, HrisSource]:
        rows = await self.session.scalars(select(HrisSource).where(col(HrisSource.id).in_(ids)))
        return {source.id: source for source in rows}

    async def every_for_update(self) -> list[HrisSource]:
        return list(
            await self.session.scalars(
                select(HrisSource).order_by(col(HrisSource.id)).with_for_update()
            )
        )

    async def list(
        self, page: PageRequest, *, engagement_id: UUID | None
    ) -> tuple[list[HrisSource], str | None]:
        return await self.page(
            page,
            key=col(HrisSource.id),
            after=page.after_id(),
            equal={col(HrisSource.engagement_id): engagement_id},
        )


class Parties(Protocol):
    """What storing an event needs of its source."""

    @property
    def id(self) -> UUID: ...
    @property
    def client_id(self) -> UUID: ...
    @property
    def partner_id(self) -> UUID: ...


@dataclass(frozen=True)
class Stored:
    id: UUID
    event_id: str
    status: EventStatus
    duplicate_of: UUID | None
    new: bool


_EVENTS = HrisEvent.metadata.tables["talent.hris_events"]
_STORED = (_EVENTS.c.id, _EVENTS.c.event_id, _EVENTS.c.status, _EVENTS.c.duplicate_of)


@dataclass(frozen=True)
class Claimed:
    """What applying a claimed event reads of it."""

    id: UUID
    source_id: UUID
    channel: EventChannel
    headers: dict[str, Any]
    body: bytes | None
    received_at: datetime
    reason: str | None
    attempts: int


_CLAIMED = core_select(*(_EVENTS.c[name] for name in Claimed.__dataclass_fields__))


@dataclass(frozen=True)
class Outcome:
    id: UUID
    status: EventStatus
    reason: str | None
    attempts: int
    processed_at: datetime


_NEW_DEFAULTS: dict[str, Any] = {
    "kind": None,
    "candidate_ref": None,
    "status": EventStatus.RECEIVED,
    "reason": None,
    "processed_at": None,
}
_NEW_COLUMNS = (
    *("source_id", "client_id", "partner_id", "event_id", "channel", "action", "headers", "body"),
    *_NEW_DEFAULTS,
)
# Built once, executed with each event's values: a new event is inserted (unless its source
# sent it before) and the processors notified in one statement.
_INSERTED = (
    insert(_EVENTS)
    .values({name: bindparam(name, type_=_EVENTS.c[name].type) for name in _NEW_COLUMNS})
    .on_conflict_do_nothing(
        index_elements=[_EVENTS.c.source_id, _EVENTS.c.event_id],
        index_where=_EVENTS.c.duplicate_of.is_(None),
    )
    .returning(*_STORED)
    .cte("inserted")
)
_STORE_NEW = core_select(*_INSERTED.c, func.pg_notify(CHANNEL, "")).select_from(_INSERTED)


_SOURCE_KEYS = (
    f"SELECT {', '.join(SourceKeys.__dataclass_fields__)} FROM talent.hris_sources WHERE id = $1"  # noqa: S608 - from the dataclass
)
# A new delivery is inserted and the processors notified, or a redelivery kept as a duplicate,
# in one statement that sets its own tenancy (migration 0006).
_STORE_DELIVERY = (
    "SELECT stored_id, original_id FROM talent.store_delivery("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
)


class Deliveries:
    """What a vendor's delivery reads and writes, straight on the driver (see
    `handover_kit.db.Database.raw`): the webhook is the route vendors call most. A vendor has no
    principal, so its source is read as the service itself."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def keys(self, source_id: UUID) -> SourceKeys | None:
        """The source's signing keys."""
        async with self.db.raw(ALL_TENANTS) as connection:
            row = await connection.fetchrow(_SOURCE_KEYS, source_id)
        return None if row is None else SourceKeys(*row)

    async def store(
        self,
        source: Parties,
        *,
        event_id: str,
        action: str,
        kind: str | None,
        candidate_ref: str | None,
        status: EventStatus,
        reason: str | None,
        processed_at: datetime | None,
        headers: dict[str, str],
        body: bytes,
    ) -> Stored:
        """As `EventRepository.store`, for a webhook delivery: once per (source, event id), a
        redelivery kept as a `duplicate` of the first, without its body."""
        async with self.db.connection() as connection:
            row = await connection.fetchrow(
                _STORE_DELIVERY,
                source.id,
                source.client_id,
                source.partner_id,
                event_id,
                EventChannel.WEBHOOK.value,
                action,
                kind,
                candidate_ref,
                status.value,
                reason,
                processed_at,
                # The connection's jsonb codec (the dialect's) takes the JSON text.
                orjson.dumps(headers).decode(),
                body,
            )
        assert row is not None
        stored, original = row
        if original is None:
            return Stored(stored, event_id, status, None, new=True)
        return Stored(stored, event_id, EventStatus.DUPLICATE, original, new=False)


class EventRepository(Repository[HrisEvent]):
    model = HrisEvent

    async def store(self, source: Parties, **values: Any) -> Stored:
        """Store an event once per (source, event id); `new` if it is. A redelivery is stored
        as a `duplicate` of the first, without its body. The unique index decides, so two
        deliveries at once cannot both be new: the second waits for the first's commit.

        A new event is inserted, and the processor notified, in one statement."""
        parties = {
            "source_id": source.id,
            "client_id": source.client_id,
            "partner_id": source.partner_id,
        }
        row = (
            await self.session.execute(_STORE_NEW, {**_NEW_DEFAULTS, **parties, **values})
        ).first()
        if row is not None:
            return Stored(row.id, row.event_id, row.status, row.duplicate_of, new=True)
        original = (
            await self.session.execute(
                core_select(_EVENTS.c.id).where(
                    _EVENTS.c.source_id == source.id,
                    _EVENTS.c.event_id == values["event_id"],
                    _EVENTS.c.duplicate_of.is_(None),
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
        row = (
            await self.session.execute(
                insert(_EVENTS).values(**parties, **duplicate).returning(*_STORED)
            )
        ).one()
        return Stored(row.id, row.event_id, row.status, row.duplicate_of, new=False)

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

    async def claim(self, limit: int) -> Sequence[Claimed]:
        """The oldest events waiting, at most `limit`, locked for this transaction; events
        other processors hold are skipped, not waited for. What applying them reads only."""
        rows = await self.session.execute(
            _CLAIMED.where(_EVENTS.c.status == EventStatus.RECEIVED)
            .order_by(_EVENTS.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return tuple(Claimed(*row) for row in rows)

    async def settle(self, outcomes: Sequence[Outcome]) -> None:
        """Record what became of claimed events, in one statement executed for them all."""
        await self.session.execute(
            update(_EVENTS)
            .where(_EVENTS.c.id == bindparam("outcome_id"))
            .values(
                status=bindparam("status"),
                reason=bindparam("reason"),
                attempts=bindparam("attempts"),
                processed_at=bindparam("processed_at"),
            ),
            [
                {
                    "outcome_id": outcome.id,
                    "status": outcome.status,
                    "reason": outcome.reason,
                    "attempts": outcome.attempts,
                    "processed_at": outcome.processed_at,
                }
                for outcome in outcomes
            ],
        )


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
