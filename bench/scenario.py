"""What a benchmark is made of: a scenario sets up its data, says what wrk sends, and names the
baseline its figures are divided by."""

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

DataT = TypeVar("DataT")

LUA = Path(__file__).resolve().parent / "lua"
CONNECTIONS = 64
"""The issue's load: 64 connections, unless a scenario's target names another."""


@dataclass(frozen=True)
class Context:
    """What a scenario's setup may use: the running system, as its administrator."""

    gateway_url: str
    admin_key: str
    """A platform-wide API key."""
    database_dsn: str
    """The system's database as PostgreSQL's administrator, for loading data in bulk."""
    quick: bool = False
    """A smoke check (`--quick`): data may be small."""
    load_seconds: int = 25
    """How long each side is sent a load, warm-up and measured run together."""


@dataclass(frozen=True)
class Load:
    """What wrk sends: `script` (in `lua/`) reads `lines`, authenticating with `token`."""

    script: Path
    token: str
    lines: list[str]
    connections: int = CONNECTIONS
    single_use: bool = False
    """Each line is sent once at most by each side (a delivery with its own id): the warm-up
    and each measured round get their own share of `lines`, in proportion to their lengths."""


def _within(value: float | None, bound: float | None) -> bool:
    return bound is None or (value is not None and value <= bound)


@dataclass(frozen=True)
class Target:
    """What the issue asks of a scenario: multiples of its baseline's figures, and absolute
    bounds where the issue sets them."""

    min_ratio: float
    max_p99_ratio: float | None = None
    max_peak_rss_mib: float | None = None
    """An absolute bound on the scenario's services' memory."""
    max_p99_ms: float | None = None
    """An absolute bound on the system's p99 latency."""

    def met_by(
        self,
        ratio: float,
        p99_ratio: float | None,
        peak_rss_mib: float | None = None,
        p99_ms: float | None = None,
    ) -> bool:
        return (
            ratio >= self.min_ratio
            and _within(p99_ratio, self.max_p99_ratio)
            and _within(peak_rss_mib, self.max_peak_rss_mib)
            and (self.max_p99_ms is None or (p99_ms is not None and p99_ms < self.max_p99_ms))
        )

    def __str__(self) -> str:
        parts = [f">= {self.min_ratio:g}x rate"] if self.min_ratio else []
        if self.max_p99_ratio is not None:
            parts.append(f"p99 <= {self.max_p99_ratio:g}x")
        if self.max_p99_ms is not None:
            parts.append(f"p99 < {self.max_p99_ms:g} ms")
        if self.max_peak_rss_mib is not None:
            parts.append(f"RSS <= {self.max_peak_rss_mib:g} MiB")
        return ", ".join(parts) or "none"


@dataclass(frozen=True)
class Measurement:
    rate: float
    """Per second."""
    p50_ms: float | None
    p99_ms: float | None
    requests: int
    errors: int
    """Failed requests: not connected, timed out, or answered with a status of 400 or more."""
    peak_rss_mib: float | None
    extras: Mapping[str, float] = field(default_factory=dict)
    """Further figures a side measured, each named for what it is (`sql_p50_ms`)."""
    error_kinds: Mapping[str, int] = field(default_factory=dict)
    """The errors by kind, where wrk counted them (`bench.wrk.Report.error_kinds`)."""
    round_rates: tuple[float, ...] = ()
    """Each measured round's rate, by round, where the sides ran in turns: how far the rounds
    spread tells how far to trust the whole."""


class Durations(Protocol):
    @property
    def warmup_seconds(self) -> int: ...
    @property
    def seconds(self) -> int: ...
    @property
    def rounds(self) -> int: ...
    @property
    def quick(self) -> bool: ...


class Rig(Protocol):
    """What a baseline may use to measure itself."""

    database_dsn: str
    baseline_url: str
    """The bare app, behind a gateway of its own with the same Caddyfile."""

    @property
    def timing(self) -> Durations: ...

    @property
    def baseline_pid(self) -> int:
        """The bare app's process, whose memory the baseline's figures report."""
        ...


class Baseline(Protocol):
    """What a scenario that drives itself is divided by: measured after it."""

    @property
    def description(self) -> str: ...

    def measure(self, rig: Rig, load: Load) -> Measurement: ...


@dataclass(frozen=True)
class BareApp:
    """The scenario's own requests, sent by wrk to `baseline.py`, which answers each with the
    same SQL as the service and nothing else. The system and the bare app take the load in
    turns, round by round, so that a host that speeds up or slows down weighs on both."""

    description: str = "bare FastAPI + asyncpg app, same SQL, same Caddy"


@dataclass(frozen=True)
class Scenario(Generic[DataT]):
    name: str
    title: str
    setup: Callable[[Context], Coroutine[Any, Any, DataT]]
    """Loads the data; scenarios that share a setup function share one run of it."""
    load: Callable[[DataT], Load]
    target: Target
    services: tuple[str, ...]
    """The services whose memory is sampled while the load runs."""
    held: tuple[str, ...] = ()
    """Workers stopped while the load runs, on both sides: a deployment of their own in
    production, which on the bench's two cores would take the CPU the load is measured on.
    `settle` says what they did with the work left to them."""
    baseline: BareApp | Baseline = field(default_factory=BareApp)
    drive: Callable[[Any, DataT], Measurement] | None = None
    """Measures the system itself, given the rig and the data, where wrk's fixed requests do
    not fit (bulk uploads of fresh rows), before its `baseline` measures itself; None drives
    `load` with wrk, against the system and the bare app in turns."""
    settle: Callable[[Any], Mapping[str, float]] | None = None
    """Given the rig once the load has ended and the `held` workers go on: waits for them to
    finish the work left to them, and returns figures on it, reported with the system's. Not
    called in `--quick`, which has no time to wait."""
    unit: str = "req/s"
    """What `rate` counts per second, on both sides (rows for bulk ingestion)."""

    def __post_init__(self) -> None:
        if (self.drive is None) != isinstance(self.baseline, BareApp):
            raise ValueError(
                f"{self.name}: wrk's load is compared with the bare app, and a scenario that"
                " drives itself names a baseline that measures itself"
            )


AnyScenario = Scenario[Any]
