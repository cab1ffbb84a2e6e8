"""Each service owns one schema, one role, and its own Alembic history inside that schema.

`provision` is the only step that needs administrative credentials: it creates
the role and a schema the role owns. Migrations then run as the role itself,
so every table belongs to the service that uses it and to no other.
"""

import asyncio
from dataclasses import dataclass
from importlib.resources import files

import asyncpg
from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, TextClause, pool, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import create_async_engine

from handover_kit.db import dsn
from handover_kit.settings import ServiceSettings

VERSION_TABLE = "alembic_version"


def revision_query(schema: str) -> TextClause:
    """The revision a schema is at. `schema` is the service's own name, never input."""
    return text(f'SELECT version_num FROM "{schema}".{VERSION_TABLE}')  # noqa: S608


@dataclass(frozen=True)
class SchemaCheck:
    """Whether this code can run on a schema at a given revision."""

    head: str
    known: frozenset[str]

    def behind(self, current: str | None) -> bool:
        """Not migrated, or only part of the way to this code's head. A revision this code
        does not know is a later release's, migrated ahead of its rollout; migrations stay
        backward compatible for one release, so this code still runs on it."""
        return current is None or (current != self.head and current in self.known)


@dataclass(frozen=True)
class Migrations:
    schema: str
    package: str  # the package that holds env.py and versions/

    def config(self, url: URL | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(files(self.package)))
        if url is not None:
            config.attributes["url"] = url
        config.attributes["schema"] = self.schema
        return config

    def head(self) -> str:
        return self.check().head

    def check(self) -> SchemaCheck:
        script = ScriptDirectory.from_config(self.config())
        heads = script.get_heads()
        if len(heads) != 1:
            raise RuntimeError(f"{self.package} must have exactly one head, found {heads}")
        return SchemaCheck(
            head=heads[0], known=frozenset(r.revision for r in script.walk_revisions())
        )


async def provision(settings: ServiceSettings, migrations: Migrations) -> None:
    """Create the service's role and schema if missing, and set the role's password."""
    role, schema = settings.db_role, migrations.schema
    connection = await asyncpg.connect(dsn(settings.admin_url))
    try:
        async with connection.transaction():
            # Serialise concurrent provisioning of the same cluster (replicas, parallel jobs).
            await connection.execute("SELECT pg_advisory_xact_lock(hashtext('handover:provision'))")
            exists = await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            statement = await connection.fetchval(
                f"SELECT format('{verb} ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)",
                role,
                settings.db_password.get_secret_value(),
            )
            await connection.execute(statement)
            for template in (
                "CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I",
                "ALTER SCHEMA %I OWNER TO %I",
                "ALTER ROLE %2$I SET search_path = %1$I",
            ):
                sql = await connection.fetchval(
                    "SELECT format($1, $2::text, $3::text)", template, schema, role
                )
                await connection.execute(sql)
    finally:
        await connection.close()


def upgrade(settings: ServiceSettings, migrations: Migrations, revision: str = "head") -> None:
    command.upgrade(migrations.config(settings.service_url), revision)


def migrate(settings: ServiceSettings, migrations: Migrations) -> None:
    asyncio.run(provision(settings, migrations))
    upgrade(settings, migrations)


def run_env(metadata: MetaData) -> None:
    """The body of every service's migrations/env.py: run online, as the service's role."""
    config = context.config
    url: URL = config.attributes["url"]
    schema: str = config.attributes["schema"]

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(
            url.set(drivername="postgresql+asyncpg"), poolclass=pool.NullPool
        )
        try:
            async with engine.connect() as connection:
                await connection.run_sync(run)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(main())
