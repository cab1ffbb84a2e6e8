"""The kit's database sessions and raw transactions: the tenancy a transaction begins with stays
in it and no further, and a pooled connection the server closed is replaced before a request
uses it."""

import asyncio
from uuid import UUID, uuid4

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from handover_engagements.config import Settings
from handover_engagements.engagements.repository import EngagementRepository, EngagementRows
from handover_engagements.engagements.service import read
from handover_kit.db import Database, Tenancy
from handover_shared.engagements import Phase
from tests import builders
from tests.conftest import Services, as_service
from tests.sql import fetch

TENANCY = text(
    "SELECT current_setting('handover.tenant', true), "
    "current_setting('handover.all_tenants', true), pg_backend_pid()"
)


async def test_a_transaction_sees_its_tenancy_from_its_first_statement_and_only_it(
    database_url: URL,
) -> None:
    db = Database(Settings.with_database(as_service(database_url)), application_name="test")
    tenant = uuid4()
    try:
        async with db.session(Tenancy(tenant=tenant)) as session, session.begin():
            first = (await session.execute(TENANCY)).one()
        async with db.session(Tenancy(all_tenants=True)) as session, session.begin():
            everyone = (await session.execute(TENANCY)).one()
        # The same pooled connection, outside any tenant session: nothing is left behind.
        async with db.engine.connect() as connection:
            after = (await connection.execute(TENANCY)).one()
    finally:
        await db.dispose()
    assert first[:2] == (str(tenant), "")
    assert everyone[:2] == ("", "on")
    assert after[2] == first[2]
    assert after[:2] in {("", ""), (None, None)}


async def test_a_pooled_connection_the_server_closed_is_replaced_before_it_is_used(
    database_url: URL,
) -> None:
    db = Database(Settings.with_database(as_service(database_url)), application_name="test")
    try:
        async with db.session(Tenancy(all_tenants=True)) as session, session.begin():
            before = (await session.execute(TENANCY)).one()[2]
        await fetch(database_url, "SELECT pg_terminate_backend($1)", before)
        await asyncio.sleep(0.2)  # the server's goodbye reaches the idle pooled connection
        async with db.session(Tenancy(all_tenants=True)) as session, session.begin():
            after = (await session.execute(TENANCY)).one()[2]
    finally:
        await db.dispose()
    assert after != before


RAW_TENANCY = (
    "SELECT current_setting('handover.tenant', true), "
    "current_setting('handover.all_tenants', true), pg_backend_pid()"
)


async def test_a_raw_transaction_sees_its_tenancy_and_leaves_nothing_behind(
    database_url: URL,
) -> None:
    db = Database(Settings.with_database(as_service(database_url)), application_name="test")
    tenant = uuid4()
    try:
        async with db.raw(Tenancy(tenant=tenant)) as connection:
            inside = await connection.fetchrow(RAW_TENANCY)
        async with db.engine.connect() as connection:
            after = (await connection.execute(TENANCY)).one()
    finally:
        await db.dispose()
    assert inside is not None
    assert (inside[0], inside[1]) == (str(tenant), "")
    assert after[2] == inside[2]  # the same pooled connection, and its settings are gone
    assert after[:2] in {("", ""), (None, None)}


async def test_a_raw_transaction_that_fails_is_rolled_back_before_its_connection_is_reused(
    database_url: URL,
) -> None:
    db = Database(Settings.with_database(as_service(database_url)), application_name="test")
    failed: list[int] = []

    async def read_then_fail() -> None:
        async with db.raw(Tenancy(all_tenants=True)) as connection:
            failed.append(await connection.fetchval("SELECT pg_backend_pid()"))
            raise LookupError

    try:
        with pytest.raises(LookupError):
            await read_then_fail()
        pooled = await db.engine.raw_connection()
        try:
            reused = pooled.driver_connection
            assert isinstance(reused, asyncpg.Connection)
            assert [await reused.fetchval("SELECT pg_backend_pid()")] == failed
            assert not reused.is_in_transaction()
        finally:
            pooled.close()
    finally:
        await db.dispose()


async def test_a_raw_transaction_is_read_only_unless_asked_otherwise(database_url: URL) -> None:
    db = Database(Settings.with_database(as_service(database_url)), application_name="test")
    write = "CREATE TEMPORARY TABLE raw_write_probe (id int)"
    try:
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            async with db.raw(Tenancy(all_tenants=True)) as connection:
                await connection.execute(write)
        async with db.raw(Tenancy(all_tenants=True), read_only=False) as connection:
            await connection.execute(write)
    finally:
        await db.dispose()


async def test_a_connection_outside_a_transaction_has_no_tenancy_so_it_sees_no_row(
    services: Services, database_url: URL
) -> None:
    await builders.create_engagement(services.engagements)
    db = Database(Settings.with_database(as_service(database_url)), application_name="test")
    count = "SELECT count(*) FROM engagements.engagements"
    try:
        async with db.connection() as connection:
            assert not connection.is_in_transaction()
            assert await connection.fetchval(count) == 0
        async with db.raw(Tenancy(all_tenants=True)) as connection:
            assert await connection.fetchval(count) == 1
    finally:
        await db.dispose()


async def test_rows_from_the_driver_make_the_model_the_orm_loads(
    services: Services, database_url: URL
) -> None:
    created = await builders.create_engagement(services.engagements, destination_country="PH")
    engagement_id = UUID(created["id"])
    db = Database(Settings.with_database(as_service(database_url)), application_name="test")
    try:
        async with db.session(Tenancy(all_tenants=True)) as session, session.begin():
            loaded = await EngagementRepository(session).get(engagement_id)
        async with db.raw(Tenancy(all_tenants=True)) as connection:
            made = await EngagementRows(connection).get(engagement_id)
    finally:
        await db.dispose()
    assert loaded is not None
    assert made is not None
    assert made.model_dump() == loaded.model_dump()
    assert made.phase is Phase.BUILD  # enums as their members, as the ORM gives them
    assert made.hiring_open
    assert read(made) == read(loaded)


async def test_raw_transactions_beyond_the_pool_close_their_overflow_connections(
    database_url: URL,
) -> None:
    settings = Settings.with_database(
        as_service(database_url), db_pool_size=1, db_pool_max_overflow=2
    )
    db = Database(settings, application_name="overflow-probe")
    everyone_in = asyncio.Barrier(3)

    async def hold() -> None:
        async with db.raw(Tenancy(all_tenants=True)):
            await everyone_in.wait()  # three connections at once: two beyond the pool

    try:
        await asyncio.gather(hold(), hold(), hold())
        await asyncio.sleep(0.2)  # the server notices the closed ones
        open_connections = await fetch(
            database_url,
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1",
            "overflow-probe",
        )
    finally:
        await db.dispose()
    assert open_connections[0]["n"] == 1  # the pool's one; the overflow ones are closed
