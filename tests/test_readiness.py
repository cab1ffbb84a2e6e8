import asyncio
from pathlib import Path

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from handover_engagements.config import Settings
from handover_engagements.db import MIGRATIONS
from handover_engagements.main import create_app
from handover_kit.db import dsn
from handover_kit.migrations import provision
from handover_tools.postgres import DATABASE_NAME, ensure_database, start_embedded
from handover_tools.stack import migrate_all
from tests.conftest import as_service


async def _readyz(app: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://engagements") as client:
        return await client.get("/readyz")


async def test_ready_when_database_is_reachable_and_migrated(database_url: URL) -> None:
    async with LifespanManager(
        create_app(Settings.with_database(as_service(database_url)))
    ) as manager:
        response = await _readyz(manager.app)
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def test_not_ready_before_migrations_run(empty_database: URL) -> None:
    await provision(Settings.with_database(dsn(empty_database)), MIGRATIONS)
    async with LifespanManager(
        create_app(Settings.with_database(as_service(empty_database)))
    ) as manager:
        response = await _readyz(manager.app)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["expected_revision"]


async def test_not_ready_while_database_is_down_and_ready_again_after(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    server = start_embedded(data_dir)
    try:
        url = await ensure_database(server, DATABASE_NAME)
        await asyncio.to_thread(migrate_all, url)
        async with LifespanManager(create_app(Settings.with_database(as_service(url)))) as manager:
            assert (await _readyz(manager.app)).status_code == 200

            await asyncio.to_thread(server.stop)
            down = await _readyz(manager.app)
            assert down.status_code == 503
            assert down.json()["detail"] == "The database is not reachable."

            server = await asyncio.to_thread(start_embedded, data_dir)
            assert (await _readyz(manager.app)).status_code == 200
    finally:
        server.stop()


async def _readyz_after(database_url: URL, sql: str) -> httpx.Response:
    """Readiness of a fresh engagements app after `sql` ran against its version table."""
    connection = await asyncpg.connect(dsn(database_url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()
    settings = Settings.with_database(as_service(database_url))
    async with LifespanManager(create_app(settings)) as manager:
        return await _readyz(manager.app)


async def test_ready_when_a_later_release_has_migrated_ahead(database_url: URL) -> None:
    """Rollouts migrate before new pods start; the old pods must keep serving meanwhile."""
    response = await _readyz_after(
        database_url, "UPDATE engagements.alembic_version SET version_num = '9999'"
    )
    assert response.status_code == 200
    assert response.json()["revision"] == "9999"


async def test_not_ready_when_the_version_table_is_empty(database_url: URL) -> None:
    response = await _readyz_after(database_url, "DELETE FROM engagements.alembic_version")
    assert response.status_code == 503
