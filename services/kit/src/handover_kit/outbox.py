"""A transactional outbox: a fact is written in the transaction that makes it true, and a relay
delivers it afterwards, at least once, in order per aggregate.

    enqueue (caller's transaction; NOTIFY at commit) -> outbox table -> Relay -> POST -> inbox

Claims are leases, not row locks held over HTTP: a relay marks a batch `locked_until` in a short
transaction, sends without holding a transaction, then records the outcomes. Relays that run at
once never claim the same message while its lease holds. A relay that dies mid-send leaves the
lease to run out; another relay then sends the message again, and the receiver's inbox
(`handover_kit.inbox`) drops the duplicate. Attempts are counted when a message is claimed, so a
message that keeps killing relays still ends dead-lettered.

Only the oldest undelivered message of an aggregate can be claimed. A dead-lettered message is
still undelivered, so it blocks the later messages of its aggregate until it is replayed: a
receiver never applies a fact without the ones before it. Other aggregates are unaffected.
"""

import asyncio
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

import asyncpg
import httpx
import structlog
from pydantic import ValidationError
from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    CursorResult,
    DateTime,
    Index,
    Integer,
    Interval,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import conv

from handover_kit.db import dsn
from handover_kit.pagination import PageRequest, next_cursor
from handover_shared.messages import MESSAGES_PATH, Envelope, MessageType, PayloadModelT

log = structlog.get_logger(__name__)

TABLE_NAME = "outbox"

# 4xx answers that say "not now" rather than "never".
RETRYABLE_CLIENT_ERRORS = frozenset({408, 409, 425, 429})

# A relay holds one connection outside the pool, to LISTEN; count it in connection budgets.
LISTENER_CONNECTIONS = 1

_MAX_ERROR_LENGTH = 2000
_MIN_WAIT_SECONDS = 0.05


def _outbox_table(metadata: MetaData) -> Table:
    # Explicit conv() names: the same in the metadata (which has a naming convention) and in
    # what autogenerate renders into a migration.
    return Table(
        TABLE_NAME,
        metadata,
        Column("id", Uuid(), server_default=text("uuidv7()"), nullable=False),
        Column("message_id", Uuid(), nullable=False),
        Column("message_type", String(200), nullable=False),
        Column("version", Integer(), nullable=False),
        Column("source", String(63), nullable=False),
        Column("aggregate_type", String(100), nullable=False),
        Column("aggregate_id", Uuid(), nullable=False),
        Column("destination", String(63), nullable=False),
        Column("path", String(500), nullable=False),
        Column("payload", JSONB(), nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("created_at", DateTime(timezone=True), server_default=text("now()"), nullable=False),
        Column("attempts", Integer(), server_default=text("0"), nullable=False),
        Column(
            "next_attempt_at",
            DateTime(timezone=True),
            server_default=text("now()"),
            nullable=False,
        ),
        Column("locked_until", DateTime(timezone=True), nullable=True),
        Column("lease_token", Uuid(), nullable=True),
        Column("last_error", Text(), nullable=True),
        Column("delivered_at", DateTime(timezone=True), nullable=True),
        Column("dead_at", DateTime(timezone=True), nullable=True),
        PrimaryKeyConstraint("id", name=conv(f"pk_{TABLE_NAME}")),
        UniqueConstraint("message_id", name=conv(f"uq_{TABLE_NAME}_message_id")),
        # Finds the messages waiting to be sent, oldest first.
        Index(
            conv(f"ix_{TABLE_NAME}_pending"),
            "id",
            postgresql_where=text("delivered_at IS NULL AND dead_at IS NULL"),
        ),
        # Answers "is an earlier message of this aggregate still undelivered?" (dead included).
        Index(
            conv(f"ix_{TABLE_NAME}_undelivered_by_aggregate"),
            "aggregate_type",
            "aggregate_id",
            "id",
            postgresql_where=text("delivered_at IS NULL"),
        ),
        Index(
            conv(f"ix_{TABLE_NAME}_dead"),
            "id",
            postgresql_where=text("dead_at IS NOT NULL"),
        ),
    )


@dataclass(frozen=True)
class OutboxMessage:
    """An envelope, and where it goes: `path` on the upstream service called `destination`."""

    envelope: Envelope[Any]
    aggregate_type: str
    destination: str
    path: str


@dataclass(frozen=True)
class OutboxRecord:
    """A row of the outbox, as the admin endpoints show it."""

    id: UUID
    message_id: UUID
    message_type: str
    version: int
    source: str
    aggregate_type: str
    aggregate_id: UUID
    destination: str
    path: str
    payload: Any
    occurred_at: datetime
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    dead_at: datetime | None


_RECORD_FIELDS = tuple(field.name for field in fields(OutboxRecord))


@dataclass(frozen=True)
class OutboxReadings:
    """Pending counts messages neither delivered nor dead, including those held behind a dead
    message of their aggregate: a growing `oldest_pending_seconds` is the lag to alert on."""

    pending: int
    oldest_pending_seconds: float
    dead: int


class Outbox:
    """The outbox table of one service, defined in its schema-bound metadata, and what is done
    with it inside a request's transaction. Create one per service, next to its `Table` base,
    so that autogenerate sees the table."""

    def __init__(self, metadata: MetaData) -> None:
        if not metadata.schema:
            raise ValueError("the outbox lives in a service's schema; the metadata names none")
        self.table = _outbox_table(metadata)
        # One channel per schema: a relay wakes only for its own service's messages.
        self.channel = f"{metadata.schema}_outbox"

    async def enqueue(self, session: AsyncSession, *messages: OutboxMessage) -> None:
        """Add messages in the caller's transaction, which stays the caller's to commit. The
        relay is notified at commit; a rollback leaves neither the rows nor the notification."""
        if not messages:
            return
        await session.execute(
            insert(self.table),
            [
                {
                    "message_id": m.envelope.message_id,
                    "message_type": m.envelope.message_type,
                    "version": m.envelope.version,
                    "source": m.envelope.source,
                    "aggregate_type": m.aggregate_type,
                    "aggregate_id": m.envelope.aggregate_id,
                    "destination": m.destination,
                    "path": m.path,
                    "payload": m.envelope.model_dump(mode="json")["payload"],
                    "occurred_at": m.envelope.occurred_at,
                }
                for m in messages
            ],
        )
        await self._notify(session)

    async def dead_letters(
        self, session: AsyncSession, page: PageRequest
    ) -> tuple[list[OutboxRecord], str | None]:
        """Dead-lettered messages, oldest first, a keyset page at a time."""
        t = self.table
        statement = select(*(t.c[name] for name in _RECORD_FIELDS)).where(t.c.dead_at.is_not(None))
        after = page.after_id()
        if after is not None:
            statement = statement.where(t.c.id > after)
        rows = (await session.execute(statement.order_by(t.c.id).limit(page.limit + 1))).all()
        records = [OutboxRecord(**row._mapping) for row in rows]
        return records[: page.limit], next_cursor([r.id for r in records], page.limit)

    async def replay(self, session: AsyncSession, id: UUID) -> OutboxRecord | None:
        """Queue a dead-lettered message again, with a fresh count of attempts; this also
        unblocks the later messages of its aggregate. None if no dead message has that id."""
        t = self.table
        row = (
            await session.execute(
                update(t)
                .where(t.c.id == id, t.c.dead_at.is_not(None))
                .values(
                    dead_at=None,
                    attempts=0,
                    next_attempt_at=func.now(),
                    locked_until=None,
                    lease_token=None,
                )
                .returning(*(t.c[name] for name in _RECORD_FIELDS))
            )
        ).first()
        if row is None:
            return None
        await self._notify(session)
        return OutboxRecord(**row._mapping)

    async def readings(self, session: AsyncSession) -> OutboxReadings:
        t = self.table
        pending = (t.c.delivered_at.is_(None), t.c.dead_at.is_(None))
        age = func.extract("epoch", func.clock_timestamp() - func.min(t.c.created_at))
        row = (
            await session.execute(
                select(
                    select(func.count()).select_from(t).where(*pending).scalar_subquery(),
                    select(age).where(*pending).scalar_subquery(),
                    select(func.count())
                    .select_from(t)
                    .where(t.c.dead_at.is_not(None))
                    .scalar_subquery(),
                )
            )
        ).one()
        return OutboxReadings(
            pending=row[0], oldest_pending_seconds=float(row[1] or 0), dead=row[2]
        )

    async def purge_delivered(self, session: AsyncSession, older_than: timedelta) -> int:
        """Delete messages delivered longer ago than `older_than`; how many went."""
        t = self.table
        result = await session.execute(
            delete(t).where(t.c.delivered_at < func.now() - bindparam("age", older_than))
        )
        return cast(CursorResult[Any], result).rowcount

    async def _notify(self, session: AsyncSession) -> None:
        # Notifications are sent at commit, and identical ones of a transaction are folded into one.
        await session.execute(select(func.pg_notify(self.channel, "")))


class Publisher:
    """How a service states facts: each goes into the outbox in the transaction of `session`,
    so it is told if and only if the change that made it true commits."""

    def __init__(self, outbox: Outbox, session: AsyncSession, *, source: str) -> None:
        self.outbox = outbox
        self.session = session
        self.source = source

    async def tell(
        self,
        destination: str,
        kind: MessageType[PayloadModelT],
        payload: PayloadModelT,
        *,
        aggregate_id: UUID,
    ) -> Envelope[PayloadModelT]:
        envelope = kind.envelope(payload, source=self.source, aggregate_id=aggregate_id)
        message = OutboxMessage(envelope, kind.aggregate_type, destination, MESSAGES_PATH)
        await self.outbox.enqueue(self.session, message)
        return envelope


@dataclass(frozen=True)
class RelayPolicy:
    """Times are in seconds. A message is sent at most `max_attempts` times before it is
    dead-lettered; the wait after the nth failure is `backoff_initial * 2**(n-1)`, capped at
    `backoff_max`, less up to half of it at random so that failed messages do not return in step.
    """

    batch_size: int = 50
    poll_interval: float = 10.0
    max_attempts: int = 12
    backoff_initial: float = 1.0
    backoff_max: float = 600.0
    send_timeout: float = 10.0
    lease: float = 60.0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be at least 1")
        if not 0 < self.send_timeout < self.lease:
            raise ValueError("a send must end well within the lease that covers it")

    def backoff(self, attempts: int, retry_after: float | None = None) -> float:
        delay = min(self.backoff_max, self.backoff_initial * 2.0 ** max(attempts - 1, 0))
        delay *= random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max))
        return delay


@dataclass(frozen=True)
class _Claim:
    id: UUID
    message_id: UUID
    message_type: str
    version: int
    source: str
    aggregate_id: UUID
    destination: str
    path: str
    payload: Any
    occurred_at: datetime
    attempts: int
    lease_token: UUID


_CLAIM_FIELDS = tuple(field.name for field in fields(_Claim))


@dataclass(frozen=True)
class _Outcome:
    claim: _Claim
    error: str | None = None  # None: delivered
    permanent: bool = False
    retry_after: float | None = None


class Relay:
    """Delivers one service's outbox to the upstream services in `clients` (name -> client with
    its base URL). Run it with `async with relay.running():` in the service's lifespan, or
    as a task of `run()`, which ends only when cancelled.

    It wakes on the outbox's NOTIFY, when the next retry or lease falls due, and at least every
    `poll_interval`, which covers notifications lost while its listening connection was down.
    Messages for a destination it has no client for are left to a relay that has one."""

    def __init__(
        self,
        outbox: Outbox,
        engine: AsyncEngine,
        clients: Mapping[str, httpx.AsyncClient],
        policy: RelayPolicy | None = None,
    ) -> None:
        self.outbox = outbox
        self.engine = engine
        self.clients = dict(clients)
        self.policy = policy or RelayPolicy()
        self._wake = asyncio.Event()
        # Outcomes the database was not there to take; recorded first thing next cycle.
        self._unrecorded: list[_Outcome] = []

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self.run(), name=f"outbox relay {self.outbox.channel}")
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
                    wait = await self._next_due_in()
                except Exception:  # the database may be away for a while; wait and try again
                    log.exception("outbox relay cycle failed", channel=self.outbox.channel)
                    wait = self.policy.poll_interval
                try:
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                except TimeoutError:
                    pass
        finally:
            if listener is not None:
                await _close(listener)

    async def run_once(self) -> int:
        """Claim one batch of due messages, send them, and record how each went; how many were
        claimed. Cancelled mid-send, it gives the batch's leases back so another relay can send
        the messages at once rather than after the lease. If the outcomes cannot be recorded
        (the database went away meanwhile), they are kept and recorded once it is back, so a
        delivered message is not sent again when its lease runs out."""
        if self._unrecorded:
            await self._record(self._unrecorded)
            self._unrecorded = []
        claims = await self._claim()
        if not claims:
            return 0
        try:
            outcomes = await asyncio.gather(*(self._send(claim) for claim in claims))
        except asyncio.CancelledError:
            await self._release(claims)
            raise
        try:
            await self._record(outcomes)
        except Exception:
            self._unrecorded = outcomes
            raise
        return len(claims)

    async def _claim(self) -> list[_Claim]:
        t, policy = self.outbox.table, self.policy
        now = func.now()
        async with self.engine.begin() as connection:
            # A message whose last attempt never reported back (its relay died) is dead now.
            abandoned = t.alias("abandoned")
            await connection.execute(
                update(t)
                .where(
                    t.c.id.in_(
                        select(abandoned.c.id)
                        .where(
                            abandoned.c.delivered_at.is_(None),
                            abandoned.c.dead_at.is_(None),
                            abandoned.c.attempts >= policy.max_attempts,
                            _lease_over(abandoned, now),
                        )
                        .with_for_update(skip_locked=True)
                    )
                )
                .values(
                    dead_at=now,
                    locked_until=None,
                    lease_token=None,
                    last_error="No outcome was recorded for the last attempt; "
                    "its relay stopped while sending.",
                )
            )
            m = t.alias("candidate")
            due = (
                select(m.c.id)
                .where(
                    *self._heads(m),
                    m.c.next_attempt_at <= now,
                    _lease_over(m, now),
                    m.c.attempts < policy.max_attempts,
                )
                .order_by(m.c.id)
                .limit(policy.batch_size)
                .with_for_update(skip_locked=True)
                .cte("due")
            )
            rows = await connection.execute(
                update(t)
                .where(t.c.id == due.c.id)
                .values(
                    attempts=t.c.attempts + 1,
                    locked_until=now + bindparam("lease", timedelta(seconds=policy.lease)),
                    lease_token=uuid4(),
                )
                .returning(*(t.c[name] for name in _CLAIM_FIELDS))
            )
            return [_Claim(**row._mapping) for row in rows]

    def _heads(self, m: FromClause) -> list[ColumnElement[bool]]:
        """Undelivered, not dead, first of its aggregate, and for a destination this relay knows."""
        earlier = self.outbox.table.alias("earlier")
        return [
            m.c.delivered_at.is_(None),
            m.c.dead_at.is_(None),
            m.c.destination.in_(sorted(self.clients)),
            ~exists().where(
                earlier.c.aggregate_type == m.c.aggregate_type,
                earlier.c.aggregate_id == m.c.aggregate_id,
                earlier.c.delivered_at.is_(None),
                earlier.c.id < m.c.id,
            ),
        ]

    async def _send(self, claim: _Claim) -> _Outcome:
        try:
            envelope: Envelope[Any] = Envelope(
                message_id=claim.message_id,
                message_type=claim.message_type,
                version=claim.version,
                source=claim.source,
                occurred_at=claim.occurred_at,
                aggregate_id=claim.aggregate_id,
                payload=claim.payload,
            )
        except ValidationError as exc:  # a row edited by hand; no retry will mend it
            return _Outcome(claim, error=f"Not a valid envelope: {exc}", permanent=True)
        message_id = str(claim.message_id)
        try:
            async with asyncio.timeout(self.policy.send_timeout):
                response = await self.clients[claim.destination].post(
                    claim.path,
                    json=envelope.model_dump(mode="json"),
                    headers={"Idempotency-Key": message_id, "X-Message-Id": message_id},
                )
        except TimeoutError:
            return _Outcome(claim, error=f"No answer within {self.policy.send_timeout}s.")
        except Exception as exc:  # noqa: BLE001 - one message's failure is recorded, not raised
            return _Outcome(claim, error=f"{type(exc).__name__}: {exc}")
        if response.is_success:
            return _Outcome(claim)
        error = f"HTTP {response.status_code}: {response.text}"
        status = response.status_code
        if 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS:
            return _Outcome(claim, error=error, permanent=True)
        return _Outcome(claim, error=error, retry_after=_retry_after(response))

    async def _record(self, outcomes: Sequence[_Outcome]) -> None:
        t = self.outbox.table
        now = func.now()
        delivered = [{"b_id": o.claim.id} for o in outcomes if o.error is None]
        failed = [
            {
                "b_id": o.claim.id,
                "b_token": o.claim.lease_token,
                "b_error": o.error[:_MAX_ERROR_LENGTH],
                "b_permanent": o.permanent,
                "b_delay": timedelta(seconds=self.policy.backoff(o.claim.attempts, o.retry_after)),
            }
            for o in outcomes
            if o.error is not None
        ]
        async with self.engine.begin() as connection:
            if delivered:
                # Whoever holds the lease now, the receiver has the message: that is final.
                await connection.execute(
                    update(t)
                    .where(t.c.id == bindparam("b_id"), t.c.delivered_at.is_(None))
                    .values(delivered_at=now, locked_until=None, lease_token=None),
                    delivered,
                )
            if failed:
                # Only while our lease holds: a later claim's outcome is not ours to overwrite.
                give_up = or_(
                    bindparam("b_permanent", type_=Boolean),
                    t.c.attempts >= self.policy.max_attempts,
                )
                await connection.execute(
                    update(t)
                    .where(
                        t.c.id == bindparam("b_id"),
                        t.c.lease_token == bindparam("b_token"),
                        t.c.delivered_at.is_(None),
                    )
                    .values(
                        last_error=bindparam("b_error"),
                        next_attempt_at=now + bindparam("b_delay", type_=Interval),
                        dead_at=case((give_up, now), else_=None),
                        locked_until=None,
                        lease_token=None,
                    ),
                    failed,
                )
        for outcome in outcomes:
            if outcome.error is None:
                continue
            dead = outcome.permanent or outcome.claim.attempts >= self.policy.max_attempts
            (log.error if dead else log.warning)(
                "outbox message dead-lettered" if dead else "outbox message failed; will retry",
                message_id=str(outcome.claim.message_id),
                destination=outcome.claim.destination,
                attempts=outcome.claim.attempts,
                error=outcome.error[:_MAX_ERROR_LENGTH],
            )

    async def _release(self, claims: Sequence[_Claim]) -> None:
        t = self.outbox.table
        try:
            async with asyncio.timeout(2.0), self.engine.begin() as connection:
                await connection.execute(
                    update(t)
                    .where(t.c.id == bindparam("b_id"), t.c.lease_token == bindparam("b_token"))
                    .values(locked_until=None, lease_token=None),
                    [{"b_id": c.id, "b_token": c.lease_token} for c in claims],
                )
        except Exception:  # the leases then run out on their own
            log.warning("outbox leases not given back", exc_info=True)

    async def _next_due_in(self) -> float:
        """Seconds until the first retry or lease falls due, within the polling interval."""
        m = self.outbox.table.alias("candidate")
        # GREATEST skips NULLs: a message without a lease is due at its next attempt.
        when = func.min(func.greatest(m.c.next_attempt_at, m.c.locked_until))
        statement = select(func.extract("epoch", when - func.clock_timestamp())).where(
            *self._heads(m)
        )
        async with self.engine.connect() as connection:
            seconds = (await connection.execute(statement)).scalar()
        if seconds is None:
            return self.policy.poll_interval
        return min(max(float(seconds), _MIN_WAIT_SECONDS), self.policy.poll_interval)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _listen(self, listener: asyncpg.Connection | None) -> asyncpg.Connection | None:
        """The connection that LISTENs, opened again if it was lost; None while it cannot be."""
        if listener is not None and not listener.is_closed():
            return listener
        connection: asyncpg.Connection | None = None
        try:
            connection = await asyncpg.connect(
                dsn(self.engine.url),
                timeout=5,
                server_settings={"application_name": f"{self.outbox.channel} relay"},
            )
            await connection.add_listener(self.outbox.channel, self._notified)
        except BaseException as exc:
            if connection is not None:
                await _close(connection)
            if not isinstance(exc, Exception):
                raise
            # Polling carries on meanwhile; the next cycle tries again.
            log.warning("outbox relay cannot listen; polling", exc_info=True)
            return None
        return connection


def _lease_over(row: FromClause, now: ColumnElement[datetime]) -> ColumnElement[bool]:
    return or_(row.c.locked_until.is_(None), row.c.locked_until <= now)


async def _close(connection: asyncpg.Connection) -> None:
    try:
        await connection.close(timeout=2)
    except Exception:  # noqa: BLE001 - a clean goodbye failed; terminate drops the socket anyway
        connection.terminate()
    except BaseException:
        connection.terminate()
        raise


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None
