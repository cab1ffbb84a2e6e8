"""The inbox: a message id is accepted once, and concurrent deliveries of it are serialised."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from handover_kit.db import NAMING_CONVENTION
from handover_kit.inbox import Inbox

metadata = sa.MetaData(schema="receiver", naming_convention=NAMING_CONVENTION)
INBOX = Inbox(metadata)


@pytest.fixture
async def engine(empty_database: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(empty_database.set(drivername="postgresql+asyncpg"))
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text("CREATE SCHEMA receiver"))
            await connection.run_sync(metadata.create_all)
        yield engine
    finally:
        await engine.dispose()


async def accept(session: AsyncSession, message_id: UUID) -> bool:
    return await INBOX.accept_once(session, message_id, message_type="thing.changed", source="s")


async def test_a_message_is_new_once(engine: AsyncEngine):
    message_id = uuid4()
    async with AsyncSession(engine) as session, session.begin():
        assert await accept(session, message_id)
        assert not await accept(session, message_id)
    async with AsyncSession(engine) as session, session.begin():
        assert not await accept(session, message_id)
        assert await accept(session, uuid4())


async def test_a_rolled_back_acceptance_leaves_the_message_new(engine: AsyncEngine):
    message_id = uuid4()
    async with AsyncSession(engine) as session:
        async with session.begin() as transaction:
            assert await accept(session, message_id)
            await transaction.rollback()
        async with session.begin():
            assert await accept(session, message_id)


@pytest.mark.parametrize(("first_commits", "second_is_new"), [(True, False), (False, True)])
async def test_a_concurrent_duplicate_waits_for_the_first_delivery(
    engine: AsyncEngine, first_commits: bool, second_is_new: bool
):
    message_id = uuid4()
    async with AsyncSession(engine) as first, AsyncSession(engine) as second:
        await first.begin()
        assert await accept(first, message_id)
        await second.begin()
        duplicate = asyncio.create_task(accept(second, message_id))
        await asyncio.sleep(0.2)
        assert not duplicate.done()  # held by the first transaction's uncommitted key
        await (first.commit() if first_commits else first.rollback())
        assert await asyncio.wait_for(duplicate, 2) is second_is_new
        await second.commit()
    async with engine.connect() as connection:
        count = await connection.scalar(sa.select(sa.func.count()).select_from(INBOX.table))
    assert count == 1


async def test_purge_forgets_only_messages_received_long_ago(engine: AsyncEngine):
    old, recent = uuid4(), uuid4()
    async with AsyncSession(engine) as session, session.begin():
        await accept(session, old)
        await accept(session, recent)
        await session.execute(
            sa.update(INBOX.table)
            .where(INBOX.table.c.message_id == old)
            .values(received_at=sa.func.now() - timedelta(days=30))
        )
    async with AsyncSession(engine) as session, session.begin():
        assert await INBOX.purge(session, timedelta(days=14)) == 1
        assert await accept(session, old)
        assert not await accept(session, recent)
