import asyncpg
import pytest
from sqlalchemy.engine import URL

from handover_kit.db import dsn
from handover_tools.services import SERVICES
from tests.conftest import as_service

# A table each service owns from its first migration.
OWN_TABLE = {"engagements": "organizations", "talent": "requisitions", "kpi": "metrics"}


async def _connect_as(service_name: str, url: URL) -> asyncpg.Connection:
    service = next(s for s in SERVICES if s.name == service_name)
    settings = service.settings.with_database(as_service(url))
    return await asyncpg.connect(dsn(settings.service_url))


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
async def test_each_role_reads_its_own_schema(service: str, database_url: URL) -> None:
    connection = await _connect_as(service, database_url)
    try:
        assert await connection.fetchval(
            f"SELECT count(*) >= 0 FROM {service}.{OWN_TABLE[service]}"
        )
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("reader", "owner"),
    [(a.name, b.name) for a in SERVICES for b in SERVICES if a.name != b.name],
)
async def test_no_role_can_read_another_services_tables(
    reader: str, owner: str, database_url: URL
) -> None:
    connection = await _connect_as(reader, database_url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.fetch(f"SELECT * FROM {owner}.{OWN_TABLE[owner]}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute(f"CREATE TABLE {owner}.intruder (id int)")
    finally:
        await connection.close()


async def test_roles_cannot_create_tables_in_public(database_url: URL) -> None:
    connection = await _connect_as("kpi", database_url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CREATE TABLE public.stray (id int)")
    finally:
        await connection.close()
