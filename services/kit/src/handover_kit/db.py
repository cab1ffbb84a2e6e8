"""The database a service owns: its engine, and one transaction per request.

Every transaction tells PostgreSQL whose data it may touch, and row-level security policies
on the tenant tables hold it to that: a query that forgets a filter still leaks nothing. A
session that states no tenancy sees no tenant rows at all.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, event, orm, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import registry
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import Executable
from sqlalchemy.util import await_
from sqlmodel import Field

from handover_kit.auth import CurrentPrincipal
from handover_kit.settings import ServiceSettings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_registry(schema: str) -> registry:
    """The registry a service's tables live in: bound to its own schema, apart from the others'."""
    return registry(metadata=MetaData(schema=schema, naming_convention=NAMING_CONVENTION))


def id_field() -> Any:
    """A UUIDv7 primary key, drawn by PostgreSQL: time-ordered, so it doubles as a cursor."""
    return Field(primary_key=True, sa_column_kwargs={"server_default": text("uuidv7()")})


def timestamp_field(*, on_update: bool = False) -> Any:
    kwargs: dict[str, Any] = {"server_default": text("now()")}
    if on_update:
        kwargs["onupdate"] = text("now()")
    return Field(sa_type=DateTime(timezone=True), sa_column_kwargs=kwargs)


def dsn(url: URL) -> str:
    """The URL as libpq and asyncpg take it, password included."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class UniqueViolation(Exception):
    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint


async def flush_unique(session: AsyncSession) -> None:
    """Flush in a savepoint; a unique violation becomes UniqueViolation, and the request's
    transaction stays usable, so the caller can answer with a conflict."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        cause = exc.orig.__cause__ if exc.orig is not None else None
        if isinstance(cause, asyncpg.UniqueViolationError) and cause.constraint_name:
            raise UniqueViolation(cause.constraint_name) from exc
        raise


@dataclass(frozen=True)
class Tenancy:
    tenant: UUID | None = None
    all_tenants: bool = False


ALL_TENANTS = Tenancy(all_tenants=True)
"""For the service's own work (background jobs, the directory), never for a caller's request."""

_TENANCY = "tenancy"


class TenantSession(orm.Session):
    """A session whose every transaction begins by setting the tenancy in `info`."""


_SET_TENANCY = (
    "SELECT set_config('handover.tenant', {tenant}, true),"
    " set_config('handover.all_tenants', {all_tenants}, true)"
)


class TenantConnection(asyncpg.Connection):  # type: ignore[misc]  # asyncpg is untyped
    """asyncpg's connection, able to begin a transaction and set its tenancy in one round trip
    rather than two: the tenancy rides in the same simple query as the BEGIN."""

    _then: str | None = None

    async def execute(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109 - asyncpg's own signature, overridden
    ) -> str:
        then, self._then = self._then, None
        if then is not None and not args and query.startswith("BEGIN"):
            query = f"{query.rstrip(';')}; {then}"
        result: str = await super().execute(query, *args, timeout=timeout)
        return result

    async def begin_then(self, begin: Callable[[], Awaitable[None]], statement: str) -> bool:
        """Run `begin` (SQLAlchemy's start of the transaction, which sends BEGIN through
        `execute`) with `statement` in the same query; whether it went with it."""
        self._then = statement
        try:
            await begin()
            return self._then is None
        finally:
            self._then = None


def _tenancy_literals(tenancy: Tenancy) -> dict[str, str]:
    # A UUID's text and fixed words only, so quoting them as literals is safe.
    tenant = str(UUID(str(tenancy.tenant))) if tenancy.tenant else ""
    return {"tenant": tenant, "all_tenants": "on" if tenancy.all_tenants else ""}


def _begin_with_tenancy(connection: Connection, values: dict[str, str]) -> bool:
    """Begin the connection's transaction with the tenancy set, in one round trip, where it
    has not begun yet. SQLAlchemy's asyncpg adapter begins lazily, at the first statement, by
    its `_start_transaction`; without it (another version), the caller sets the tenancy apart."""
    fairy = connection.connection
    adapter, driver = fairy.dbapi_connection, fairy.driver_connection
    begin = getattr(adapter, "_start_transaction", None)
    if not isinstance(driver, TenantConnection) or begin is None:
        return False
    if getattr(adapter, "_transaction", True) is not None or driver.is_in_transaction():
        return False
    literals = {name: f"'{value}'" for name, value in values.items()}
    return bool(await_(driver.begin_then(begin, _SET_TENANCY.format(**literals))))


@event.listens_for(TenantSession, "after_begin")
def _set_tenancy(session: orm.Session, _: object, connection: Connection) -> None:
    tenancy = session.info.get(_TENANCY)
    if tenancy is None:
        return
    assert isinstance(tenancy, Tenancy)
    values = _tenancy_literals(tenancy)
    if not _begin_with_tenancy(connection, values):
        connection.execute(
            text(_SET_TENANCY.format(tenant=":tenant", all_tenants=":all_tenants")), values
        )


def _refuse_closed(_: object, record: ConnectionPoolEntry, __: object) -> None:
    """After a database restart the pool holds connections the server closed. asyncpg knows
    which, at no cost: the pool replaces them. A pre-ping would learn the same with three
    round trips (BEGIN, a query, ROLLBACK) before every transaction. A connection that breaks
    in use is caught as a disconnect, which invalidates the whole pool."""
    connection = record.driver_connection
    if isinstance(connection, asyncpg.Connection) and connection.is_closed():
        raise DisconnectionError("the server closed this connection")


class Database:
    def __init__(self, settings: ServiceSettings, application_name: str) -> None:
        self.engine: AsyncEngine = create_async_engine(
            settings.service_url.set(drivername="postgresql+asyncpg"),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_max_overflow,
            connect_args={
                "connection_class": TenantConnection,
                "timeout": 5,
                "server_settings": {
                    "application_name": application_name,
                    "statement_timeout": str(settings.db_statement_timeout_ms),
                },
            },
        )
        event.listen(self.engine.sync_engine, "checkout", _refuse_closed)
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=TenantSession
        )

    def session(self, tenancy: Tenancy) -> AsyncSession:
        return self.sessionmaker(info={_TENANCY: tenancy})

    async def scalar(self, statement: Executable) -> object:
        async with self.engine.connect() as connection:
            return (await connection.execute(statement)).scalar()

    async def dispose(self) -> None:
        await self.engine.dispose()


def database(request: Request) -> Database:
    db = request.state.db
    assert isinstance(db, Database)
    return db


async def _transaction(
    request: Request, principal: CurrentPrincipal
) -> AsyncIterator[AsyncSession]:
    """The request's unit of work, as the caller's tenancy: committed after the handler
    returns, before the response."""
    tenancy = Tenancy(tenant=principal.tenant, all_tenants=principal.all_tenants)
    async with database(request).session(tenancy) as session, session.begin():
        yield session


Session = Annotated[AsyncSession, Depends(_transaction, scope="function")]


def text_enum(enum: type[StrEnum]) -> SAEnum:
    """Store an enum as its values in a checked VARCHAR: new values need no type migration."""
    return SAEnum(
        enum,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        name=f"{enum.__name__.lower()}",
    )
