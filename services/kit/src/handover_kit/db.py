"""The database a service owns: its engine, and one transaction per request.

Every transaction tells PostgreSQL whose data it may touch, and row-level security policies
on the tenant tables hold it to that: a query that forgets a filter still leaks nothing. A
session that states no tenancy sees no tenant rows at all.
"""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
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
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection, QueuePool
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn
from sqlmodel import Field

from handover_kit.auth import Principal, principal_of
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

    @classmethod
    def of(cls, principal: Principal) -> "Tenancy":
        """Whose rows `principal` may touch."""
        return cls(tenant=principal.tenant, all_tenants=principal.all_tenants)


ALL_TENANTS = Tenancy(all_tenants=True)
"""For the service's own work (background jobs, the directory), never for a caller's request."""

_TENANCY = "tenancy"


class TenantSession(orm.Session):
    """A session whose every transaction begins by setting the tenancy in `info`."""


@event.listens_for(TenantSession, "after_begin")
def _set_tenancy(session: orm.Session, _: object, connection: Connection) -> None:
    tenancy = session.info.get(_TENANCY)
    if tenancy is None:
        return
    assert isinstance(tenancy, Tenancy)
    # Its own statement, through SQLAlchemy, so that a connection lost here is handled as any
    # disconnect is: invalidated, and answered 503.
    connection.execute(
        text(
            "SELECT set_config('handover.tenant', :tenant, true),"
            " set_config('handover.all_tenants', :all_tenants, true)"
        ),
        {
            "tenant": str(tenancy.tenant) if tenancy.tenant else "",
            "all_tenants": "on" if tenancy.all_tenants else "",
        },
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

    @asynccontextmanager
    async def raw(
        self, tenancy: Tenancy, *, read_only: bool = True
    ) -> AsyncIterator[asyncpg.Connection]:
        """A transaction with `tenancy`, straight on the driver's connection, for the hottest
        paths: BEGIN and the tenancy go in one round trip, and no ORM stands between the rows
        and the caller. A statement costs a fifth of what it does through a session; use it
        where a route is called often and its SQL is simple. Committed when the block ends."""
        async with self._checked_out() as pooled:
            raw = pooled.driver_connection
            assert isinstance(raw, asyncpg.Connection)
            await _end(pooled, raw, _begin(tenancy, read_only=read_only))
            try:
                yield raw
            except BaseException:
                await _end(pooled, raw, "ROLLBACK")
                raise
            await _end(pooled, raw, "COMMIT")

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """The driver's connection outside any transaction, for a statement that is a
        transaction of its own and sets its own tenancy: a function, such as talent's
        `store_delivery`. Any other statement has no tenancy, so row-level security shows and
        admits no row."""
        async with self._checked_out() as pooled:
            raw = pooled.driver_connection
            assert isinstance(raw, asyncpg.Connection)
            yield raw

    @asynccontextmanager
    async def _checked_out(self) -> AsyncIterator[PoolProxiedConnection]:
        # The pool's own connection, without SQLAlchemy's Connection around it: a third of the
        # cost of checking one out, and none of its transaction bookkeeping.
        pooled = await self.engine.raw_connection()
        try:
            yield pooled
        finally:
            pool = self.engine.sync_engine.pool
            if isinstance(pool, QueuePool) and pool.overflow() <= 0:
                # With no overflow connection the pool has room for this one, and a connection
                # whose transactions the driver ran needs no rollback: nothing awaits, so no
                # greenlet, which costs about 30 us within a request.
                pooled.close()
            else:
                # The pool may close it (an overflow connection): a close awaits the driver,
                # which SQLAlchemy does only from within its greenlet.
                await greenlet_spawn(pooled.close)

    async def scalar(self, statement: Executable) -> object:
        async with self.engine.connect() as connection:
            return (await connection.execute(statement)).scalar()

    async def dispose(self) -> None:
        await self.engine.dispose()


def _begin(tenancy: Tenancy, *, read_only: bool) -> str:
    tenant = str(tenancy.tenant) if tenancy.tenant else ""  # a UUID's text: no quote to escape
    all_tenants = "on" if tenancy.all_tenants else ""
    return (
        f"BEGIN{' READ ONLY' if read_only else ''}; SELECT set_config('handover.tenant', "
        f"'{tenant}', true), set_config('handover.all_tenants', '{all_tenants}', true)"
    )


async def _end(pooled: PoolProxiedConnection, raw: asyncpg.Connection, statement: str) -> None:
    """Run a transaction-control statement the pool knows nothing of; should it fail, the
    connection is dropped, as the pool would otherwise hand out an open transaction."""
    try:
        await raw.execute(statement)
    except BaseException:
        pooled.invalidate()
        raise


def database(request: Request) -> Database:
    db = request.state.db
    assert isinstance(db, Database)
    return db


async def _transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work, as the caller's tenancy: committed after the handler
    returns, before the response."""
    tenancy = Tenancy.of(await principal_of(request))
    async with database(request).session(tenancy) as session, session.begin():
        yield session


Session = Annotated[AsyncSession, Depends(_transaction, scope="function")]


@dataclass(frozen=True)
class ReadTransactions:
    """The request's reads: read-only transactions on the driver's connection as the caller's
    tenancy (see `Database.raw`), each opened where the route reads,
    `async with reads() as connection`. A plain dependency, not one that yields a connection:
    FastAPI's clean-up of those costs every request about 65 us of shielded cancel scopes."""

    db: Database
    tenancy: Tenancy

    def __call__(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        return self.db.raw(self.tenancy)


async def reads_of(request: Request) -> ReadTransactions:
    """The request's reads, as the caller's tenancy: what `Reads` gives a handler, for a
    dependency that needs them (a plain call, not one more dependency to solve)."""
    return ReadTransactions(database(request), Tenancy.of(await principal_of(request)))


Reads = Annotated[ReadTransactions, Depends(reads_of)]


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
