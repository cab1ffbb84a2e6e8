import asyncio
import importlib

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from handover_kit.db import dsn
from handover_kit.migrations import migrate, upgrade
from handover_tools.services import SERVICES, Service


def _settings(service: Service, url: URL):
    return service.settings.with_database(dsn(url))


async def _revision(url: URL, schema: str) -> str | None:
    connection = await asyncpg.connect(dsn(url))
    try:
        return await connection.fetchval(f"SELECT version_num FROM {schema}.alembic_version")
    finally:
        await connection.close()


def test_migrate_from_empty_brings_every_schema_to_head(empty_database: URL) -> None:
    for service in SERVICES:
        migrate(_settings(service, empty_database), service.migrations)
    for service in SERVICES:
        assert asyncio.run(_revision(empty_database, service.migrations.schema)) == (
            service.migrations.head()
        )


def test_migrate_twice_changes_nothing(database_url: URL) -> None:
    for service in SERVICES:
        migrate(_settings(service, database_url), service.migrations)
        assert asyncio.run(_revision(database_url, service.migrations.schema)) == (
            service.migrations.head()
        )


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_downgrade_to_base_and_up_again(service: Service, database_url: URL) -> None:
    settings = _settings(service, database_url)
    command.downgrade(service.migrations.config(settings.service_url), "base")
    assert asyncio.run(_revision(database_url, service.migrations.schema)) is None
    upgrade(settings, service.migrations)
    assert asyncio.run(_revision(database_url, service.migrations.schema)) == (
        service.migrations.head()
    )


def _metadata(service: Service) -> MetaData:
    """The service's tables, all registered once its app module (and so every model) is imported."""
    importlib.import_module(service.app_factory.partition(":")[0])
    table = importlib.import_module(f"handover_{service.name}.db").Table
    return table.metadata


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
async def test_models_and_migrations_agree(service: Service, database_url: URL) -> None:
    metadata = _metadata(service)
    # As the administrator, whose search path does not hold the service's schema: reflection
    # then names the schema, as the models do.
    engine = create_async_engine(database_url.set(drivername="postgresql+asyncpg"))
    try:
        async with engine.connect() as connection:

            def diff(sync_connection):
                context = MigrationContext.configure(
                    sync_connection,
                    opts={
                        "target_metadata": metadata,
                        "include_schemas": True,
                        "include_name": lambda name, type_, _: (
                            type_ != "schema" or name == service.migrations.schema
                        ),
                        "version_table_schema": service.migrations.schema,
                    },
                )
                return compare_metadata(context, metadata)

            assert await connection.run_sync(diff) == []
    finally:
        await engine.dispose()
