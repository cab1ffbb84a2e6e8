"""The commands every service image runs: `serve`, `migrate` and `await-migrations`."""

import argparse
import asyncio
import gc
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn
from sqlalchemy.ext.asyncio import create_async_engine
from uvicorn.importer import import_from_string

from handover_kit.logging import configure_logging
from handover_kit.migrations import Migrations, migrate, revision_query
from handover_kit.settings import ServiceSettings


async def _current_revision(settings: ServiceSettings, schema: str) -> str | None:
    engine = create_async_engine(settings.service_url.set(drivername="postgresql+asyncpg"))
    try:
        async with engine.connect() as connection:
            return (await connection.execute(revision_query(schema))).scalar()
    finally:
        await engine.dispose()


def await_migrations(settings: ServiceSettings, migrations: Migrations, timeout: float) -> bool:
    """Wait until this code can run on the schema (a rollout's init step)."""
    check, deadline = migrations.check(), time.monotonic() + timeout
    while True:
        try:
            if not check.behind(asyncio.run(_current_revision(settings, migrations.schema))):
                return True
        except Exception:  # noqa: BLE001, S110 - not reachable or not migrated yet: wait
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(1.0)


KEEP_ALIVE_SECONDS = 5
"""How long a server keeps an idle connection open. The gateway closes its idle connections to
a service sooner (deploy/gateway/Caddyfile), so that it never sends a request on a connection
the service is closing."""


@dataclass(frozen=True)
class Command:
    """A service's own command, beside the ones every service has."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[ServiceSettings, argparse.Namespace], int]


def freeze_start_up() -> None:
    """What the process has made by now (modules, routes, models: most of what it will ever
    hold) frozen out of the garbage collector's reach. Its full passes walked all of it, about
    80 ms each, in the middle of some request. Only for a long-running process such as a
    server: frozen objects are never collected, so a process that builds many apps would keep
    them."""
    gc.collect()
    gc.freeze()


def frozen_after(factory: Callable[[], Any]) -> Callable[[], Any]:
    """`factory`, then what it made frozen (`freeze_start_up`)."""

    def build() -> Any:
        app = factory()
        freeze_start_up()
        return app

    return build


def run(
    name: str,
    settings_factory: Callable[[], ServiceSettings],
    migrations: Migrations,
    app_factory: str,
    argv: Sequence[str] | None = None,
    extra: Mapping[str, Command] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=f"handover-{name}")
    commands = parser.add_subparsers(dest="command", required=True)
    extra = extra or {}
    for command_name, command in extra.items():
        command.configure(commands.add_parser(command_name, help=command.help))
    commands.add_parser("serve", help="serve the API")
    commands.add_parser("migrate", help="provision the role and schema, then migrate to head")
    waiting = commands.add_parser("await-migrations", help="wait until migrations are at head")
    waiting.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)

    settings = settings_factory()
    configure_logging(name, settings.log_level, settings.log_format)
    if args.command == "migrate":
        migrate(settings, migrations)
        return 0
    if args.command == "await-migrations":
        return 0 if await_migrations(settings, migrations, args.timeout) else 1
    if args.command in extra:
        return extra[args.command].run(settings, args)
    uvicorn.run(
        frozen_after(import_from_string(app_factory)),
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
        # The kit writes the access log (`RequestRecords`); uvicorn's would still build its
        # line's arguments on every request before its disabled logger dropped it.
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips="*",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    return 0
