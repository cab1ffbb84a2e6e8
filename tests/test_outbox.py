"""The outbox relay against a real PostgreSQL, delivering to a receiver that applies facts
through its inbox, reached in-process over ASGI."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa
from alembic import op
from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from handover_kit.db import NAMING_CONVENTION
from handover_kit.inbox import Inbox
from handover_kit.outbox import Outbox, OutboxMessage, Relay, RelayPolicy
from handover_kit.pagination import PageRequest, decode_cursor
from handover_shared.messages import Envelope

SENDER, RECEIVER = "sender", "receiver"

sender_metadata = sa.MetaData(schema=SENDER, naming_convention=NAMING_CONVENTION)
OUTBOX = Outbox(sender_metadata)

receiver_metadata = sa.MetaData(schema=RECEIVER, naming_convention=NAMING_CONVENTION)
INBOX = Inbox(receiver_metadata)
APPLIED = sa.Table(
    "applied",
    receiver_metadata,
    sa.Column("n", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("message_id", sa.Uuid, nullable=False),
    sa.Column("aggregate_id", sa.Uuid, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
)

# Fast retries; a poll interval so long that only NOTIFY or a due retry can explain a delivery.
FAST = RelayPolicy(
    batch_size=10,
    poll_interval=30.0,
    max_attempts=5,
    backoff_initial=0.01,
    backoff_max=0.05,
    send_timeout=5.0,
    lease=10.0,
)


class Fact(BaseModel):
    seq: int


@dataclass(frozen=True)
class Answer:
    status: int = 200
    apply: bool = True


APPLY = Answer()
DOWN = Answer(503, apply=False)


@dataclass
class Receiver:
    """A service that applies facts once through its inbox, answering as `answer` says."""

    engine: AsyncEngine
    answer: Callable[[Envelope[Fact], int], Answer] = lambda _, __: APPLY
    hits: Counter[UUID] = field(default_factory=Counter)
    log: list[tuple[UUID, str]] = field(default_factory=list)  # (message id, relay) per hit
    keys: set[tuple[str, str]] = field(default_factory=set)  # (Idempotency-Key, X-Message-Id)

    def app(self) -> FastAPI:
        app = FastAPI()
        sessions = async_sessionmaker(self.engine)

        @app.post("/facts")
        async def receive_fact(envelope: Envelope[Fact], request: Request) -> Response:
            self.hits[envelope.message_id] += 1
            self.keys.add((request.headers["Idempotency-Key"], request.headers["X-Message-Id"]))
            self.log.append((envelope.message_id, request.headers.get("X-Relay", "")))
            answer = self.answer(envelope, self.hits[envelope.message_id])
            if answer.apply:
                async with sessions() as session, session.begin():
                    if await INBOX.accept_once(
                        session,
                        envelope.message_id,
                        message_type=envelope.message_type,
                        source=envelope.source,
                    ):
                        await session.execute(
                            sa.insert(APPLIED).values(
                                message_id=envelope.message_id,
                                aggregate_id=envelope.aggregate_id,
                                seq=envelope.payload.seq,
                            )
                        )
            await asyncio.sleep(0)
            return Response(status_code=answer.status)

        return app

    def client(self, relay_name: str = "") -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app()),
            base_url="http://receiver",
            headers={"X-Relay": relay_name},
        )

    async def applied(self) -> list[tuple[UUID, UUID, int]]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                sa.select(APPLIED.c.message_id, APPLIED.c.aggregate_id, APPLIED.c.seq).order_by(
                    APPLIED.c.n
                )
            )
            return [(row.message_id, row.aggregate_id, row.seq) for row in rows]


@pytest.fixture
async def engine(empty_database: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(
        empty_database.set(drivername="postgresql+asyncpg"), pool_size=20, max_overflow=0
    )
    try:
        async with engine.begin() as connection:
            for schema in (SENDER, RECEIVER):
                await connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
            await connection.run_sync(sender_metadata.create_all)
            await connection.run_sync(receiver_metadata.create_all)
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def receiver(engine: AsyncEngine) -> Receiver:
    return Receiver(engine)


@asynccontextmanager
async def relaying(
    engine: AsyncEngine, receiver: Receiver, policy: RelayPolicy = FAST, name: str = ""
) -> AsyncIterator[Relay]:
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(receiver.client(name))
        relay = Relay(OUTBOX, engine, {"receiver": client}, policy)
        await stack.enter_async_context(relay.running())
        yield relay


def message(aggregate_id: UUID, seq: int = 0) -> OutboxMessage:
    return OutboxMessage(
        envelope=Envelope[Fact](
            message_type="thing.changed",
            version=1,
            source=SENDER,
            aggregate_id=aggregate_id,
            payload=Fact(seq=seq),
        ),
        aggregate_type="thing",
        destination="receiver",
        path="/facts",
    )


async def enqueue(engine: AsyncEngine, *messages: OutboxMessage) -> list[UUID]:
    async with AsyncSession(engine) as session, session.begin():
        await OUTBOX.enqueue(session, *messages)
    return [m.envelope.message_id for m in messages]


async def rows(engine: AsyncEngine) -> dict[UUID, Any]:
    async with engine.connect() as connection:
        result = await connection.execute(sa.select(OUTBOX.table))
        return {row.message_id: row for row in result}


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - the state is in the database; poll it
            await asyncio.sleep(0.01)


def delivered(engine: AsyncEngine, *message_ids: UUID) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        current = await rows(engine)
        return all(current[m].delivered_at is not None for m in message_ids)

    return check


def dead(engine: AsyncEngine, *message_ids: UUID) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        current = await rows(engine)
        return all(current[m].dead_at is not None for m in message_ids)

    return check


async def test_a_rolled_back_enqueue_sends_nothing(engine: AsyncEngine, receiver: Receiver):
    async with relaying(engine, receiver):
        async with AsyncSession(engine) as session, session.begin() as transaction:
            await OUTBOX.enqueue(session, message(uuid4()))
            await transaction.rollback()
        [sentinel] = await enqueue(engine, message(uuid4()))
        await eventually(delivered(engine, sentinel))
    assert list(receiver.hits) == [sentinel]
    assert list(await rows(engine)) == [sentinel]


async def test_a_message_is_applied_once_though_the_receiver_fails_and_recovers(
    engine: AsyncEngine, receiver: Receiver
):
    # First the receiver applies it but the answer is lost, then it is down, then it is back.
    script = {1: Answer(503, apply=True), 2: DOWN, 3: APPLY}
    receiver.answer = lambda _, hit: script[hit]
    async with relaying(engine, receiver):
        [sent] = await enqueue(engine, message(uuid4()))
        await eventually(delivered(engine, sent))
    assert receiver.hits[sent] == 3
    assert receiver.keys == {(str(sent), str(sent))}
    assert [applied[0] for applied in await receiver.applied()] == [sent]
    row = (await rows(engine))[sent]
    assert (row.attempts, row.dead_at, row.locked_until) == (3, None, None)


async def test_a_failed_message_holds_back_the_later_ones_of_its_aggregate(
    engine: AsyncEngine, receiver: Receiver
):
    aggregate = uuid4()
    receiver.answer = lambda envelope, hit: (
        DOWN if envelope.payload.seq == 1 and hit <= 2 else APPLY
    )
    async with relaying(engine, receiver):
        ids = await enqueue(engine, *(message(aggregate, seq) for seq in (1, 2, 3)))
        await eventually(delivered(engine, *ids))
    assert [seq for _, _, seq in await receiver.applied()] == [1, 2, 3]
    # The second was not even tried until the first got through.
    assert [message_id for message_id, _ in receiver.log] == [
        ids[0],
        ids[0],
        ids[0],
        ids[1],
        ids[2],
    ]


async def test_two_relays_at_once_deliver_every_message_exactly_once_and_in_order(
    engine: AsyncEngine, receiver: Receiver
):
    aggregates = [uuid4() for _ in range(20)]
    policy = replace(FAST, batch_size=7)
    async with (
        relaying(engine, receiver, policy, name="a"),
        relaying(engine, receiver, policy, name="b"),
    ):
        ids: list[UUID] = []
        for seq in range(10):
            ids += await enqueue(engine, *(message(aggregate, seq) for aggregate in aggregates))
        await eventually(delivered(engine, *ids), within=30)
    assert len(ids) == 200
    assert receiver.hits == Counter(dict.fromkeys(ids, 1))
    assert {row.attempts for row in (await rows(engine)).values()} == {1}
    applied = await receiver.applied()
    assert len(applied) == 200
    for aggregate in aggregates:
        assert [seq for _, a, seq in applied if a == aggregate] == list(range(10))
    assert {relay for _, relay in receiver.log} == {"a", "b"}


async def test_a_message_that_keeps_failing_is_dead_lettered_listed_and_replayed(
    engine: AsyncEngine, receiver: Receiver
):
    receiver.answer = lambda _, __: DOWN
    policy = replace(FAST, max_attempts=3)
    async with relaying(engine, receiver, policy):
        first, second = await enqueue(engine, message(uuid4()), message(uuid4()))
        await eventually(dead(engine, first, second))
        current = await rows(engine)
        assert [current[m].attempts for m in (first, second)] == [3, 3]
        assert receiver.hits == {first: 3, second: 3}
        assert current[first].last_error.startswith("HTTP 503")

        async with AsyncSession(engine) as session:
            page, cursor = await OUTBOX.dead_letters(session, PageRequest(limit=1, after=None))
            assert cursor is not None
            rest, end = await OUTBOX.dead_letters(
                session, PageRequest(limit=1, after=decode_cursor(cursor))
            )
            assert [r.message_id for r in page + rest] == [first, second]
            assert end is None
            readings = await OUTBOX.readings(session)
            assert (readings.pending, readings.dead) == (0, 2)

        receiver.answer = lambda _, __: APPLY
        async with AsyncSession(engine) as session, session.begin():
            assert await OUTBOX.replay(session, page[0].id) is not None
            assert await OUTBOX.replay(session, page[0].id) is None
        await eventually(delivered(engine, first))
    assert receiver.hits[first] == 4
    assert (await rows(engine))[second].delivered_at is None
    async with AsyncSession(engine) as session:
        readings = await OUTBOX.readings(session)
    assert (readings.pending, readings.dead) == (0, 1)


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_a_permanent_refusal_dead_letters_at_once_and_blocks_its_aggregate(
    engine: AsyncEngine, receiver: Receiver, status: int
):
    refused, other = uuid4(), uuid4()
    fixed = False
    receiver.answer = lambda envelope, _: (
        Answer(status, apply=False) if envelope.aggregate_id == refused and not fixed else APPLY
    )
    async with relaying(engine, receiver):
        first, later = await enqueue(engine, message(refused, 1), message(refused, 2))
        [unrelated] = await enqueue(engine, message(other))
        await eventually(dead(engine, first))
        await eventually(delivered(engine, unrelated))
        current = await rows(engine)
        assert current[first].attempts == 1
        assert current[first].last_error.startswith(f"HTTP {status}")
        assert receiver.hits[later] == 0
        assert current[later].delivered_at is None
        assert current[later].dead_at is None

        fixed = True
        async with AsyncSession(engine) as session, session.begin():
            assert await OUTBOX.replay(session, current[first].id) is not None
        await eventually(delivered(engine, first, later))
    assert [seq for _, a, seq in await receiver.applied() if a == refused] == [1, 2]


@pytest.mark.parametrize("status", [408, 409, 425, 429, 500, 503])
async def test_a_passing_failure_is_retried(engine: AsyncEngine, receiver: Receiver, status: int):
    receiver.answer = lambda _, hit: Answer(status, apply=False) if hit == 1 else APPLY
    async with relaying(engine, receiver):
        [sent] = await enqueue(engine, message(uuid4()))
        await eventually(delivered(engine, sent))
    assert receiver.hits[sent] == 2
    assert (await rows(engine))[sent].last_error.startswith(f"HTTP {status}")


async def test_an_unreachable_receiver_is_retried(engine: AsyncEngine, receiver: Receiver):
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200)

    async with (
        httpx.AsyncClient(
            transport=httpx.MockTransport(flaky), base_url="http://receiver"
        ) as client,
        Relay(OUTBOX, engine, {"receiver": client}, FAST).running(),
    ):
        [sent] = await enqueue(engine, message(uuid4()))
        await eventually(delivered(engine, sent))
    assert calls == 2
    assert (await rows(engine))[sent].last_error == "ConnectError: connection refused"


async def test_messages_for_an_unknown_destination_wait_for_a_relay_that_knows_it(
    engine: AsyncEngine, receiver: Receiver
):
    elsewhere = OutboxMessage(
        envelope=message(uuid4()).envelope, aggregate_type="thing", destination="nowhere", path="/"
    )
    async with relaying(engine, receiver):
        [waiting] = await enqueue(engine, elsewhere)
        [sent] = await enqueue(engine, message(uuid4()))
        await eventually(delivered(engine, sent))
    row = (await rows(engine))[waiting]
    assert (row.attempts, row.delivered_at, row.dead_at) == (0, None, None)


async def test_the_relay_wakes_on_notify_long_before_its_poll_interval(
    engine: AsyncEngine, receiver: Receiver
):
    async with relaying(engine, receiver):
        [first] = await enqueue(engine, message(uuid4()))
        await eventually(delivered(engine, first), within=2)
        await asyncio.sleep(0.3)  # the relay has nothing left to do and sleeps for 30s

        # A row written without a notification waits for the next poll ...
        silent = message(uuid4())
        async with AsyncSession(engine) as session, session.begin():
            await session.execute(
                sa.insert(OUTBOX.table).values(
                    message_id=silent.envelope.message_id,
                    message_type="thing.changed",
                    version=1,
                    source=SENDER,
                    aggregate_type="thing",
                    aggregate_id=silent.envelope.aggregate_id,
                    destination="receiver",
                    path="/facts",
                    payload={"seq": 0},
                    occurred_at=sa.func.now(),
                )
            )
        await asyncio.sleep(0.5)
        assert receiver.hits[silent.envelope.message_id] == 0

        # ... and an enqueue wakes the relay at once, which then sends both.
        loop = asyncio.get_running_loop()
        started = loop.time()
        [notified] = await enqueue(engine, message(uuid4()))
        await eventually(delivered(engine, notified, silent.envelope.message_id), within=2)
    assert loop.time() - started < 2


async def test_a_lease_left_by_a_dead_relay_is_sent_again_once_it_runs_out(
    engine: AsyncEngine, receiver: Receiver
):
    [sent] = await enqueue(engine, message(uuid4()))
    async with engine.begin() as connection:
        await connection.execute(
            sa.update(OUTBOX.table).values(
                attempts=1,
                locked_until=sa.func.now() + timedelta(seconds=0.5),
                lease_token=uuid4(),
            )
        )
    async with relaying(engine, receiver):
        await asyncio.sleep(0.2)
        assert receiver.hits[sent] == 0
        await eventually(delivered(engine, sent), within=3)
    assert receiver.hits[sent] == 1
    assert (await rows(engine))[sent].attempts == 2


async def test_a_lease_left_on_the_last_attempt_ends_dead_lettered(
    engine: AsyncEngine, receiver: Receiver
):
    [sent] = await enqueue(engine, message(uuid4()))
    async with engine.begin() as connection:
        await connection.execute(
            sa.update(OUTBOX.table).values(
                attempts=FAST.max_attempts, locked_until=sa.func.now(), lease_token=uuid4()
            )
        )
    async with relaying(engine, receiver):
        await eventually(dead(engine, sent))
    assert receiver.hits[sent] == 0
    assert "stopped while sending" in (await rows(engine))[sent].last_error


async def test_outcomes_the_database_could_not_take_are_recorded_when_it_is_back(
    engine: AsyncEngine, receiver: Receiver
):
    """The database went away between sending and recording: the delivery is not repeated
    when the lease runs out; the kept outcome is recorded on the next cycle."""
    [sent] = await enqueue(engine, message(uuid4()))
    async with receiver.client() as client:
        relay = Relay(OUTBOX, engine, {"receiver": client}, FAST)
        record = relay._record
        calls = 0

        async def database_away_once(outcomes: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionRefusedError("the database is restarting")
            await record(outcomes)

        relay._record = database_away_once  # type: ignore[method-assign]
        with pytest.raises(ConnectionRefusedError):
            await relay.run_once()
        assert (await rows(engine))[sent].delivered_at is None
        assert await relay.run_once() == 0  # records what it kept; nothing left to claim
    row = (await rows(engine))[sent]
    assert row.delivered_at is not None
    assert (row.attempts, row.locked_until) == (1, None)
    assert receiver.hits[sent] == 1


async def test_a_relay_cancelled_mid_send_gives_its_lease_back(
    engine: AsyncEngine, receiver: Receiver
):
    hang = asyncio.Event()
    arrived = asyncio.Event()
    app = receiver.app()

    async def hanging_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not hang.is_set():
            hang.set()
            arrived.set()
            await asyncio.Event().wait()
        await app(scope, receive, send)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=hanging_app), base_url="http://receiver"
    ) as client:
        async with Relay(OUTBOX, engine, {"receiver": client}, FAST).running():
            [sent] = await enqueue(engine, message(uuid4()))
            await asyncio.wait_for(arrived.wait(), 2)
        row = (await rows(engine))[sent]
        assert (row.attempts, row.locked_until, row.delivered_at) == (1, None, None)

        async with relaying(engine, receiver):
            await eventually(delivered(engine, sent), within=2)
    assert receiver.hits[sent] == 1


async def test_readings_count_pending_and_dead_and_age_the_oldest(engine: AsyncEngine):
    ids = await enqueue(engine, *(message(uuid4()) for _ in range(4)))
    table = OUTBOX.table
    async with engine.begin() as connection:
        for message_id, values in [
            (ids[0], {"created_at": sa.func.now() - timedelta(seconds=10)}),
            (
                ids[1],
                {"delivered_at": sa.func.now(), "created_at": sa.func.now() - timedelta(hours=1)},
            ),
            (ids[2], {"dead_at": sa.func.now(), "created_at": sa.func.now() - timedelta(hours=1)}),
        ]:
            await connection.execute(
                sa.update(table).where(table.c.message_id == message_id).values(**values)
            )
    async with AsyncSession(engine) as session:
        readings = await OUTBOX.readings(session)
    assert (readings.pending, readings.dead) == (2, 1)
    assert 10 <= readings.oldest_pending_seconds < 15

    async with AsyncSession(engine) as session, session.begin():
        await session.execute(sa.update(table).values(delivered_at=sa.func.now(), dead_at=None))
    async with AsyncSession(engine) as session:
        readings = await OUTBOX.readings(session)
    assert (readings.pending, readings.oldest_pending_seconds, readings.dead) == (0, 0.0, 0)


async def test_purge_forgets_only_messages_delivered_long_ago(engine: AsyncEngine):
    old, recent, pending = await enqueue(engine, *(message(uuid4()) for _ in range(3)))
    table = OUTBOX.table
    async with engine.begin() as connection:
        for message_id, age in [(old, timedelta(days=8)), (recent, timedelta(days=1))]:
            await connection.execute(
                sa.update(table)
                .where(table.c.message_id == message_id)
                .values(delivered_at=sa.func.now() - age)
            )
    async with AsyncSession(engine) as session, session.begin():
        assert await OUTBOX.purge_delivered(session, timedelta(days=7)) == 1
    assert set(await rows(engine)) == {recent, pending}


def test_an_outbox_needs_a_schema() -> None:
    with pytest.raises(ValueError, match="schema"):
        Outbox(sa.MetaData())


async def test_autogenerate_writes_a_migration_that_builds_the_tables_as_declared(
    engine: AsyncEngine,
):
    """The way to add the tables to a service: autogenerate, then review, as for its own."""
    migrated_metadata = sa.MetaData(schema="migrated", naming_convention=NAMING_CONVENTION)
    Outbox(migrated_metadata)
    Inbox(migrated_metadata)

    def migrate(connection: sa.Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "target_metadata": migrated_metadata,
                "include_schemas": True,
                "include_name": lambda name, type_, _: type_ != "schema" or name == "migrated",
            },
        )
        upgrade = produce_migrations(context, migrated_metadata).upgrade_ops
        assert upgrade is not None
        # The body of upgrade() in the migration file autogenerate writes.
        namespace: dict[str, Any] = {"op": op, "sa": sa, "postgresql": postgresql}
        rendered = render_python_code(upgrade, migration_context=context)
        exec(f"def upgrade():\n    {rendered}", namespace)  # noqa: S102
        with Operations.context(context):
            namespace["upgrade"]()
        return compare_metadata(context, migrated_metadata)

    async with engine.begin() as connection:
        await connection.execute(sa.text("CREATE SCHEMA migrated"))
        assert await connection.run_sync(migrate) == []
        # compare_metadata does not look at index predicates; the catalogue does.
        indexes = await connection.execute(
            sa.text(
                "SELECT schemaname, indexname, replace(indexdef, schemaname || '.', '') "
                "FROM pg_indexes WHERE schemaname IN ('migrated', 'sender', 'receiver') "
                "AND tablename IN ('outbox', 'inbox')"
            )
        )
        by_schema: dict[str, set[tuple[str, str]]] = {}
        for schema, name, definition in indexes:
            by_schema.setdefault(schema, set()).add((name, definition))
    assert by_schema["migrated"] == by_schema["sender"] | by_schema["receiver"]
    assert len(by_schema["migrated"]) == 7
