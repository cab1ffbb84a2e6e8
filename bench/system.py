"""The real system as production runs it, and the baseline beside it, on free ports of
loopback, in a work directory of their own."""

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Protocol

import asyncpg
import httpx
import psutil
from cryptography.fernet import Fernet

from bench import wrk
from bench.scenario import Context, Load, Measurement
from handover_kit.credentials import new_service_seed, private_key_from_seed, public_key_text
from handover_kit.db import dsn
from handover_kit.migrations import migrate
from handover_tools.postgres import Server, ensure_database, start_embedded
from handover_tools.services import SERVICES, Service
from handover_tools.stack import (
    HRIS_PROCESSOR,
    REPO_ROOT,
    Ports,
    Stack,
    gateway_command,
    gateway_environment,
)

DATABASE = "handover_bench"
# As deploy/kubernetes/<service>.yaml sets them; the baseline's pool holds as many connections.
POOL_SIZE, POOL_MAX_OVERFLOW = 7, 0
# Talent's servers hold one less, the HRIS processor (a deployment of its own) one in all.
TALENT_POOL_SIZE = 6
HRIS_PROCESSOR_POOL = {"TALENT_DB_POOL_SIZE": "1", "TALENT_DB_POOL_MAX_OVERFLOW": "0"}
# Production requests a fraction of the API's CPU for the processor: on the bench's two cores,
# accepting deliveries comes first too.
HRIS_PROCESSOR_NICENESS = 10
# One API key drives all the load, and the limit is per principal: high enough never to refuse,
# over a one-second window, so that the limiter's bookkeeping (an entry per request in the
# window) stays the size that production's 600/minute gives it.
RATE_LIMIT = "100000/second"
# deploy/kubernetes/config.yaml names frontends, so production runs the CORS middleware too.
CORS_ORIGINS = ["https://app.example.com"]
RSS_SAMPLE_SECONDS = 0.1
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Timing:
    warmup_seconds: int
    seconds: int
    """Measured, on each side."""
    rounds: int = 1
    """The measured seconds are taken in this many rounds a side, the sides in turns."""
    quick: bool = False
    """A smoke check: scenarios that size their data may make it small."""


@dataclass(frozen=True)
class Secrets:
    """What production keeps in Secrets: each service's database password and signing key.
    Made afresh for each run; `HANDOVER_ENV=production` refuses the development ones."""

    db_passwords: Mapping[str, str]
    seeds: Mapping[str, str]
    hris_key: str
    """The key talent seals HRIS signing secrets with; the baseline opens them with it too."""

    @classmethod
    def new(cls) -> "Secrets":
        return cls(
            {service.name: secrets.token_urlsafe(24) for service in SERVICES},
            {service.name: new_service_seed() for service in SERVICES},
            Fernet.generate_key().decode(),
        )

    def settings(self, service: Service) -> dict[str, str]:
        """For `with_database`: what the service's migration Job is given."""
        return {
            "HANDOVER_ENV": "production",
            "db_password": self.db_passwords[service.name],
            "service_key": self.seeds[service.name],
        }

    def env(self) -> dict[str, str]:
        """What the services' pods are given, as deploy/kubernetes sets it, and the rate limit."""
        public_keys = {
            name: public_key_text(private_key_from_seed(seed)) for name, seed in self.seeds.items()
        }
        env = {
            "HANDOVER_ENV": "production",
            "HANDOVER_SERVICE_PUBLIC_KEYS": json.dumps(public_keys),
            "HANDOVER_CORS_ORIGINS": json.dumps(CORS_ORIGINS),
            # Production refuses to start talent without the key of its HRIS secrets.
            "TALENT_HRIS_SECRETS_KEYS": self.hris_key,
        }
        for service in SERVICES:
            prefix = service.env_prefix
            env |= {
                f"{prefix}DB_PASSWORD": self.db_passwords[service.name],
                f"{prefix}SERVICE_KEY": self.seeds[service.name],
                f"{prefix}DB_POOL_SIZE": str(server_pool_size(service.name)),
                f"{prefix}DB_POOL_MAX_OVERFLOW": str(POOL_MAX_OVERFLOW),
                f"{prefix}RATE_LIMIT": RATE_LIMIT,
            }
        return env


def server_pool_size(service: str) -> int:
    """The connections a service's server holds (without overflow): the bare app's pool for
    that service's work holds as many."""
    return TALENT_POOL_SIZE if service == "talent" else POOL_SIZE


def free_ports(count: int) -> list[int]:
    with ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


class PeakRss:
    """The largest total resident memory of some processes and their children, sampled in the
    background while the `with` block runs."""

    def __init__(self, pids: Iterable[int]) -> None:
        self._processes = [psutil.Process(pid) for pid in pids]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_bytes = 0

    def _sample(self) -> int:
        total = 0
        for process in self._processes:
            try:
                tree = [process, *process.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for member in tree:
                try:
                    total += member.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
        return total

    def _run(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_SECONDS):
            self.peak_bytes = max(self.peak_bytes, self._sample())

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._sample())

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / 2**20


def _spawn(
    command: list[str], env: Mapping[str, str], log: Path, cleanup: ExitStack
) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 - our own commands
            command, env={**os.environ, **env}, cwd=REPO_ROOT, stdout=output, stderr=output
        )
    cleanup.callback(_stop, process)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Any answer will do: the baseline has no probe."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while process.poll() is None:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    raise RuntimeError(f"{process.args!r} did not answer at {url}:\n{log.read_text()[-4000:]}")


SYSTEM, BASELINE = 0, 1


def turns(rounds: int) -> list[tuple[int, int]]:
    """(round, side) in the order they run: the system then the baseline, the baseline then the
    system, and so on. Over an even number of rounds, a steady drift in the host's speed falls
    on both sides alike."""
    return [
        (number, side)
        for number in range(rounds)
        for side in ((SYSTEM, BASELINE) if number % 2 == 0 else (BASELINE, SYSTEM))
    ]


def _measurement(rounds: list[wrk.Report], peak_rss_mib: float) -> Measurement:
    report = wrk.combined(rounds)
    return Measurement(
        rate=report.rate,
        p50_ms=report.p50_ms,
        p99_ms=report.p99_ms,
        requests=report.requests,
        errors=report.errors,
        peak_rss_mib=peak_rss_mib,
        error_kinds=report.error_kinds,
        round_rates=tuple(round_.rate for round_ in rounds),
    )


class Pausable(Protocol):
    def pause_service(self, name: str) -> None: ...
    def resume_service(self, name: str) -> None: ...


@contextmanager
def paused(stack: Pausable, names: Iterable[str]) -> Iterator[None]:
    """The processes of `names` paused until the block ends, however it ends; then they go on
    where they were."""
    held = list(names)
    for name in held:
        stack.pause_service(name)
    try:
        yield
    finally:
        for name in held:
            stack.resume_service(name)


class Rig:
    """PostgreSQL, the three services (talent's HRIS processor in a process of its own, at a
    lower CPU priority) and the gateway, as production runs them; then, once the scenarios'
    data is loaded, the baseline app behind a gateway of its own, with the same Caddyfile.
    Everything stops on exit."""

    def __init__(self, work_dir: Path, wrk_path: Path, timing: Timing) -> None:
        self.work_dir = work_dir
        self.wrk_path = wrk_path
        self.timing = timing
        self.secrets = Secrets.new()
        self._exit = ExitStack()
        self._baseline_app: subprocess.Popen[bytes] | None = None
        self.baseline_url = ""

    def __enter__(self) -> "Rig":
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exit.close()

    def _start(self) -> None:
        self.server: Server = start_embedded(self.work_dir / "postgres", delete_on_stop=True)
        self._exit.callback(self.server.stop)
        url = asyncio.run(ensure_database(self.server, DATABASE))
        self.database_dsn = dsn(url)
        for service in SERVICES:
            settings = service.settings.with_database(
                self.database_dsn, **self.secrets.settings(service)
            )
            migrate(settings, service.migrations)
        gateway, *services = free_ports(1 + len(SERVICES))
        ports = Ports(gateway, {s.name: port for s, port in zip(SERVICES, services, strict=True)})
        self.stack = Stack(
            self.server,
            self.work_dir / "stack",
            ports,
            env=self.secrets.env(),
            database=DATABASE,
            workers=[
                replace(HRIS_PROCESSOR, env=HRIS_PROCESSOR_POOL, niceness=HRIS_PROCESSOR_NICENESS)
            ],
        )
        self.stack.start(migrate_first=False)
        self._exit.callback(self.stack.stop)

    def context(self) -> Context:
        return Context(
            self.stack.gateway_url,
            self.stack.admin_key,
            self.database_dsn,
            self.timing.quick,
            self.timing.warmup_seconds + self.timing.seconds,
        )

    def start_baseline(self) -> None:
        """The bare app reads the API keys when it starts: start it after the setups. A second
        process of it answers what the first asks as talent or kpi, as those services answer
        engagements from processes of their own."""
        app_port, peer_port, gateway_port = free_ports(3)
        logs = self.work_dir / "logs"
        environment = {
            **{
                f"BASELINE_{service.name.upper()}_DATABASE_URL": dsn(
                    self.server.database_url(DATABASE).set(
                        username=service.name, password=self.secrets.db_passwords[service.name]
                    )
                )
                for service in SERVICES
            },
            **{
                f"BASELINE_{service.name.upper()}_POOL_SIZE": str(
                    server_pool_size(service.name) + POOL_MAX_OVERFLOW
                )
                for service in SERVICES
            },
            "BASELINE_HRIS_SECRETS_KEY": self.secrets.hris_key,
        }
        self._spawn_baseline(peer_port, peer_port, environment, logs / "baseline-peer.log")
        app = self._spawn_baseline(app_port, peer_port, environment, logs / "baseline.log")
        # The gateway's own Caddyfile, every service's routes leading to the bare app: the same
        # gateway, as the issue has it, so the ratio is the services' against the bare app.
        site = self.work_dir / "baseline-gateway"
        site.mkdir(exist_ok=True)
        caddy = _spawn(
            gateway_command(),
            gateway_environment(
                gateway_port,
                {service.name: f"127.0.0.1:{app_port}" for service in SERVICES},
                site,
            ),
            logs / "baseline-gateway.log",
            self._exit,
        )
        self.baseline_url = f"http://127.0.0.1:{gateway_port}"
        _wait_until_answering(f"{self.baseline_url}/", caddy, logs / "baseline-gateway.log")
        self._baseline_app = app

    def _spawn_baseline(
        self, port: int, peer_port: int, environment: Mapping[str, str], log: Path
    ) -> subprocess.Popen[bytes]:
        """The bare app on `port`, asking the one on `peer_port` what it asks another service."""
        app = _spawn(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.baseline:create_app",
                "--factory",
                "--host=127.0.0.1",
                f"--port={port}",
                "--no-access-log",
                "--no-server-header",
                "--log-level=warning",
            ],
            {**environment, "BASELINE_PEER_URL": f"http://127.0.0.1:{peer_port}"},
            log,
            self._exit,
        )
        _wait_until_answering(f"http://127.0.0.1:{port}/", app, log)
        return app

    @property
    def baseline_pid(self) -> int:
        if self._baseline_app is None:
            raise RuntimeError("start_baseline first")
        return self._baseline_app.pid

    def alternate(
        self, load: Load, services: Iterable[str], held: Iterable[str] = ()
    ) -> tuple[Measurement, Measurement]:
        """`load` against the gateway and against the bare app behind its gateway: a warm-up
        each, then the measured rounds in turns (system, baseline; baseline, system; ...), so
        that a host that speeds up or slows down during the run weighs on both sides alike.
        The memory sampled is that of `services`, their workers' processes included (talent's
        HRIS processor), and of the bare app. The `held` workers are stopped throughout and go
        on when it ends."""
        if self._baseline_app is None:
            raise RuntimeError("start_baseline first")
        system = [process for name in services for process in self.stack.processes_of(name)]
        sides = ((self.stack.gateway_url, system), (self.baseline_url, [self._baseline_app]))
        warmup, rounds = self.line_files(load)
        seconds = self.timing.seconds // self.timing.rounds
        reports: tuple[list[wrk.Report], list[wrk.Report]] = ([], [])
        peaks = [0.0, 0.0]
        with paused(self.stack, held):
            for url, _ in sides:
                wrk.run(self.wrk_path, url, load, self.timing.warmup_seconds, warmup)
            for number, side in turns(self.timing.rounds):
                url, processes = sides[side]
                with PeakRss(process.pid for process in processes) as rss:
                    reports[side].append(wrk.run(self.wrk_path, url, load, seconds, rounds[number]))
                peaks[side] = max(peaks[side], rss.peak_mib)
        return (
            _measurement(reports[SYSTEM], peaks[SYSTEM]),
            _measurement(reports[BASELINE], peaks[BASELINE]),
        )

    def line_files(self, load: Load) -> tuple[Path, list[Path]]:
        """The files of lines for the warm-up and for each measured round: one file for all,
        unless each line is to be sent once (by each side), when each gets its share."""
        rounds = self.timing.rounds
        if not load.single_use:
            path = self._write("lines", load.lines)
            return path, [path] * rounds
        lines, total = load.lines, self.timing.warmup_seconds + self.timing.seconds
        cut = len(lines) * self.timing.warmup_seconds // total
        size = (len(lines) - cut) // rounds
        return self._write("lines-warmup", lines[:cut] or lines), [
            self._write(f"lines-{n}", lines[cut + size * n : cut + size * (n + 1)])
            for n in range(rounds)
        ]

    def _write(self, name: str, lines: list[str]) -> Path:
        path = self.work_dir / f"{name}.txt"
        path.write_text("".join(f"{line}\n" for line in lines))
        return path

    def postgres_version(self) -> str:
        async def read() -> str:
            connection = await asyncpg.connect(self.database_dsn)
            try:
                return str(await connection.fetchval("SHOW server_version"))
            finally:
                await connection.close()

        return asyncio.run(read())
