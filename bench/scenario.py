"""What a benchmark is made of: a scenario sets up its data, says what wrk sends, and names the
baseline its figures are divided by."""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

DataT = TypeVar("DataT")

LUA = Path(__file__).resolve().parent / "lua"


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


@dataclass(frozen=True)
class Load:
    """What wrk sends: `script` (in `lua/`) reads `lines`, authenticating with `token`."""

    script: Path
    token: str
    lines: list[str]


@dataclass(frozen=True)
class Target:
    """What the issue asks of a scenario, as multiples of its baseline's figures."""

    min_ratio: float
    max_p99_ratio: float | None = None
    max_peak_rss_mib: float | None = None
    """An absolute bound on the scenario's services' memory, where the issue sets one."""

    def met_by(
        self, ratio: float, p99_ratio: float | None, peak_rss_mib: float | None = None
    ) -> bool:
        if ratio < self.min_ratio:
            return False
        if self.max_peak_rss_mib is not None and (
            peak_rss_mib is None or peak_rss_mib > self.max_peak_rss_mib
        ):
            return False
        if self.max_p99_ratio is None:
            return True
        return p99_ratio is not None and p99_ratio <= self.max_p99_ratio

    def __str__(self) -> str:
        text = f">= {self.min_ratio:g}x rate"
        if self.max_p99_ratio is not None:
            text += f", p99 <= {self.max_p99_ratio:g}x"
        if self.max_peak_rss_mib is not None:
            text += f", RSS <= {self.max_peak_rss_mib:g} MiB"
        return text


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


class Rig(Protocol):
    """What a baseline may use to measure itself."""

    database_dsn: str

    def drive_baseline(self, load: Load) -> Measurement:
        """`load`, warm-up first, against the bare app behind its own Caddy."""
        ...


class Baseline(Protocol):
    @property
    def description(self) -> str: ...

    def measure(self, rig: Rig, load: Load) -> Measurement: ...


@dataclass(frozen=True)
class BareApp:
    """The scenario's own requests, sent to `baseline.py`, which answers each with the same SQL
    as the service and nothing else."""

    description: str = "bare FastAPI + asyncpg app, same SQL, same Caddy"

    def measure(self, rig: Rig, load: Load) -> Measurement:
        return rig.drive_baseline(load)


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
    baseline: Baseline = field(default_factory=BareApp)
    drive: Callable[[Any, DataT], Measurement] | None = None
    """Measures the system itself, given the rig and the data, where wrk's fixed requests do
    not fit (bulk uploads of fresh rows); None drives `load` with wrk."""
    unit: str = "req/s"
    """What `rate` counts per second, on both sides (rows for bulk ingestion)."""


AnyScenario = Scenario[Any]
