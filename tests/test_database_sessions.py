"""The kit's database sessions: the tenancy a transaction begins with stays in it, and a pooled
connection the server closed is replaced before a request uses it."""

import asyncio
from uuid import uuid4

from sqlalchemy import text
from sqlalchemy.engine import URL

from handover_engagements.config import Settings
from handover_kit.db import Database, Tenancy
from tests.conftest import as_service
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
