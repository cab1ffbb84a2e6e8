"""KPI data points: bulk ingestion through the gateway beside raw COPY, the memory of a large
CSV upload, and a monthly series over a table of ten million points beside the best raw SQL.

Bulk uploads are not wrk's kind of load: each request carries fresh rows (an upsert of rows it
has already stored measures nothing), so these scenarios drive the system themselves, with
httpx, through the gateway, as a partner's API key. The rate is rows per second on both
sides. The series is measured one request at a time, as a script or a dashboard asks for it,
through the gateway and through the baseline's Caddy to the bare app running the best raw SQL:
its `rate` is 1000 / p50 ms on both sides, so the ratio is the bare app's p50 over the
system's. The same SQL alone, with no HTTP, is measured too and reported as `sql_p50_ms`.
"""

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from bench.scenario import LUA, Context, Durations, Load, Measurement, Rig, Scenario, Target
from bench.scenarios import api
from bench.system import PeakRss
from handover_shared.auth import Scope

POINTS_PER_REQUEST = 10_000
INGEST_CONNECTIONS = 4
"""Each request carries 10,000 points: four in flight keep both cores busy; 64 would only
queue behind them."""
CSV_BYTES_FULL = 1_000_000_000
CSV_BYTES_QUICK = 2_000_000
SERIES_POINTS_FULL = 10_000_000
SERIES_POINTS_QUICK = 100_000
SERIES_DAYS = 730
SERIES_METRIC = "productivity_output"
SERIES_FROM = datetime(2025, 1, 1, tzinfo=UTC)
SERIES_TO = SERIES_FROM + timedelta(days=SERIES_DAYS)
FILLER_METRICS = [
    "productivity_output",
    "quality_score",
    "sla_compliance",
    "retention_rate",
    "attrition_rate",
    "time_to_hire",
    "offer_acceptance_rate",
    "onboarding_time",
    "head_count",
    "partner_fee",
]
TEAMS = ["claims", "billing", "support", "intake"]
COPY_COLUMNS = [
    "engagement_id",
    "client_id",
    "partner_id",
    "metric_key",
    "at",
    "dimensions",
    "value",
    "source",
]
CSV_HEADER = b"engagement_id,metric_key,at,value,team,source\n"
# The same answer as the service's series query, without row-level security, the catalog
# lookup or HTTP: what PostgreSQL alone takes (the bare app's `SERIES_SUM`, as the superuser).
RAW_SERIES = (
    "SELECT date_trunc('month', at, 'UTC') AS period_start, sum(value), count(*)"
    " FROM kpi.data_points WHERE engagement_id = $1 AND metric_key = $2"
    " AND at >= $3 AND at < $4 GROUP BY 1 ORDER BY 1"
)
# Rows are told apart by their instant: ingestion starts far from the series' years, and each
# batch (of the system and of COPY alike) takes the next free minutes.
INGEST_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Kpi:
    token: str
    """An API key of the engagement's partner, with `kpi:read` and `kpi:write`."""
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID


class Minutes:
    """Hands out fresh instants, so that every row written is a new point."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, count: int) -> int:
        first, self.next = self.next, self.next + count
        return first


MINUTES = Minutes()


def _is_quick(rig: Any) -> bool:
    quick: bool = rig.timing.quick
    return quick


async def setup(context: Context) -> Kpi:
    async with api.admin(context) as http:
        engagement = await api.engagement(http, "KPI benchmark")
        token = await api.api_key(
            http, "kpi benchmark", [Scope.KPI_READ, Scope.KPI_WRITE], engagement["partner_id"]
        )
        await api.check_key(http, token, _series_path(engagement["id"]))
    return Kpi(
        token=token,
        engagement_id=UUID(engagement["id"]),
        client_id=UUID(engagement["client_id"]),
        partner_id=UUID(engagement["partner_id"]),
    )


def _load(data: Kpi) -> Load:
    """What the raw-COPY baseline needs to write the same rows: the engagement's ids."""
    return Load(
        LUA / "get.lua",
        data.token,
        [str(data.engagement_id), str(data.client_id), str(data.partner_id)],
    )


def _at(minute: int) -> datetime:
    return INGEST_EPOCH + timedelta(minutes=minute)


def _value(minute: int) -> float:
    return float(minute % 997) + 0.25


def _ndjson(engagement_id: UUID, first: int, count: int) -> bytes:
    return "".join(
        f'{{"engagement_id":"{engagement_id}","metric_key":"productivity_output",'
        f'"at":"{_at(minute).isoformat()}","value":{_value(minute)},'
        f'"dimensions":{{"team":"{TEAMS[minute % 4]}"}},"source":"bench"}}\n'
        for minute in range(first, first + count)
    ).encode()


def _csv_lines(engagement_id: UUID, first: int, count: int) -> bytes:
    return "".join(
        f"{engagement_id},productivity_output,{_at(minute).isoformat()},{_value(minute)},"
        f"{TEAMS[minute % 4]},bench\n"
        for minute in range(first, first + count)
    ).encode()


def _record(ids: list[str], minute: int) -> tuple[object, ...]:
    engagement_id, client_id, partner_id = (UUID(value) for value in ids)
    return (
        engagement_id,
        client_id,
        partner_id,
        "productivity_output",
        _at(minute),
        f'{{"team":"{TEAMS[minute % 4]}"}}',
        _value(minute),
        "bench",
    )


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- NDJSON, 10k points per request ---------------------------------------------------------


async def _ingest_for(rig: Any, data: Kpi, seconds: float) -> tuple[int, list[float], int, int]:
    """Points stored, request latencies (ms), requests, failed requests."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    stored = errors = 0
    headers = {
        "Authorization": f"Bearer {data.token}",
        "Content-Type": "application/x-ndjson",
    }
    async with httpx.AsyncClient(
        base_url=rig.stack.gateway_url, timeout=120, headers=headers
    ) as http:

        async def worker() -> None:
            nonlocal stored, errors
            while time.monotonic() < stop:
                body = _ndjson(
                    data.engagement_id, MINUTES.take(POINTS_PER_REQUEST), POINTS_PER_REQUEST
                )
                started = time.perf_counter()
                response = await http.post("/v1/data-points/ndjson", content=body)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200 or response.json()["accepted"] != (
                    POINTS_PER_REQUEST
                ):
                    errors += 1
                    continue
                stored += POINTS_PER_REQUEST

        await asyncio.gather(*(worker() for _ in range(INGEST_CONNECTIONS)))
    return stored, latencies, len(latencies), errors


def drive_ndjson(rig: Any, data: Kpi) -> Measurement:
    asyncio.run(_ingest_for(rig, data, rig.timing.warmup_seconds))
    with PeakRss([rig.stack.processes["kpi"].pid]) as rss:
        started = time.monotonic()
        stored, latencies, requests, errors = asyncio.run(
            _ingest_for(rig, data, rig.timing.seconds)
        )
        elapsed = time.monotonic() - started
    return Measurement(
        rate=stored / elapsed,
        p50_ms=_percentile(latencies, 0.5),
        p99_ms=_percentile(latencies, 0.99),
        requests=requests,
        errors=errors,
        peak_rss_mib=rss.peak_mib,
    )


@dataclass(frozen=True)
class RawCopy:
    """`rows` fresh rows of the same shape, COPY'd into kpi.data_points (with its indexes and
    checks) in batches the size of the scenario's requests, one connection, as PostgreSQL's
    administrator: the physical limit of the same work, without the service."""

    rows: Callable[[Any], int]
    batch: int = POINTS_PER_REQUEST
    description: str = "raw COPY of the same rows into the same table, rows/s"

    def measure(self, rig: Rig, load: Load) -> Measurement:
        return asyncio.run(self._measure(rig, load.lines, self.rows(rig)))

    async def _measure(self, rig: Rig, ids: list[str], rows: int) -> Measurement:
        connection = await asyncpg.connect(rig.database_dsn)
        latencies: list[float] = []
        try:
            started = time.perf_counter()
            for offset in range(0, rows, self.batch):
                count = min(self.batch, rows - offset)
                first = MINUTES.take(count)
                batch_started = time.perf_counter()
                async with connection.transaction():
                    await connection.copy_records_to_table(
                        "data_points",
                        schema_name="kpi",
                        columns=COPY_COLUMNS,
                        records=(_record(ids, minute) for minute in range(first, first + count)),
                    )
                latencies.append((time.perf_counter() - batch_started) * 1000)
            elapsed = time.perf_counter() - started
        finally:
            await connection.close()
        return Measurement(
            rate=rows / elapsed,
            p50_ms=_percentile(latencies, 0.5),
            p99_ms=_percentile(latencies, 0.99),
            requests=len(latencies),
            errors=0,
            peak_rss_mib=None,
        )


def _ndjson_rows(rig: Any) -> int:
    # As many rows as a measured run of the system stores at about 30,000 points/s.
    return POINTS_PER_REQUEST * (3 if _is_quick(rig) else 60)


# --- one large CSV upload -------------------------------------------------------------------


def _csv_rows(rig: Any) -> int:
    size = CSV_BYTES_QUICK if _is_quick(rig) else CSV_BYTES_FULL
    return size // len(_csv_lines(UUID(int=0), 10**6, 1))


async def _chunks(engagement_id: UUID, first: int, rows: int) -> AsyncIterator[bytes]:
    yield CSV_HEADER
    for offset in range(0, rows, 5000):
        yield _csv_lines(engagement_id, first + offset, min(5000, rows - offset))


async def _upload(rig: Any, data: Kpi, rows: int) -> tuple[float, int, bool]:
    headers = {"Authorization": f"Bearer {data.token}", "Content-Type": "text/csv"}
    async with httpx.AsyncClient(
        base_url=rig.stack.gateway_url, timeout=httpx.Timeout(3600, connect=10), headers=headers
    ) as http:
        started = time.perf_counter()
        response = await http.post(
            "/v1/data-points/csv", content=_chunks(data.engagement_id, MINUTES.take(rows), rows)
        )
        elapsed = time.perf_counter() - started
    ok = response.status_code == 200 and response.json()["accepted"] == rows
    return elapsed, rows, ok


def drive_csv(rig: Any, data: Kpi) -> Measurement:
    rows = _csv_rows(rig)
    with PeakRss([rig.stack.processes["kpi"].pid]) as rss:
        elapsed, rows, ok = asyncio.run(_upload(rig, data, rows))
    return Measurement(
        rate=rows / elapsed,
        p50_ms=elapsed * 1000,
        p99_ms=elapsed * 1000,
        requests=1,
        errors=0 if ok else 1,
        peak_rss_mib=rss.peak_mib,
    )


# --- a monthly series over ten million points -----------------------------------------------

# Filler: engagements of 7,300 points each (ten metrics, two years of days), then the
# benchmark engagement's two years of daily points of one metric.
FILLER = """
INSERT INTO kpi.data_points
    (engagement_id, client_id, partner_id, metric_key, at, value, source)
SELECT md5('engagement' || (n / 7300))::uuid, md5('client' || (n / 73000))::uuid,
    md5('partner' || (n / 730000))::uuid, ($1::text[])[(n / 730) % 10 + 1],
    $2::timestamptz + (n % 730) * interval '1 day', (n % 1000)::float8, 'bench'
FROM generate_series($3::bigint, $4::bigint - 1) AS n
"""
OURS = """
INSERT INTO kpi.data_points
    (engagement_id, client_id, partner_id, metric_key, at, value, source)
SELECT $1, $2, $3, $4, $5::timestamptz + day * interval '1 day', (day % 100)::float8, 'bench'
FROM generate_series(0, 729) AS day
"""


async def setup_series(context: Context) -> Kpi:
    data = await setup(context)
    total = SERIES_POINTS_QUICK if context.quick else SERIES_POINTS_FULL
    connection = await asyncpg.connect(context.database_dsn, command_timeout=None)
    try:
        filler = total - SERIES_DAYS
        for start in range(0, filler, 1_000_000):
            await connection.execute(
                FILLER, FILLER_METRICS, SERIES_FROM, start, min(filler, start + 1_000_000)
            )
        await connection.execute(
            OURS, data.engagement_id, data.client_id, data.partner_id, SERIES_METRIC, SERIES_FROM
        )
        # As autovacuum would have by now: statistics, and a visibility map for index-only
        # scans.
        await connection.execute("VACUUM ANALYZE kpi.data_points")
    finally:
        await connection.close()
    return data


def _series_path(engagement_id: UUID) -> str:
    return (
        f"/v1/series?metric_key={SERIES_METRIC}&engagement_id={engagement_id}"
        f"&granularity=month&from={SERIES_FROM:%Y-%m-%dT%H:%M:%SZ}"
        f"&to={SERIES_TO:%Y-%m-%dT%H:%M:%SZ}"
    )


async def _timed(call: Callable[[], Awaitable[bool]], seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        started = time.perf_counter()
        ok = await call()
        latencies.append((time.perf_counter() - started) * 1000)
        errors += 0 if ok else 1
    return latencies, errors


def _latency_measurement(
    latencies: list[float],
    errors: int,
    peak_rss_mib: float | None,
    extras: dict[str, float] | None = None,
) -> Measurement:
    p50 = statistics.median(latencies) if latencies else None
    return Measurement(
        rate=1000 / p50 if p50 else 0.0,
        p50_ms=p50,
        p99_ms=_percentile(latencies, 0.99),
        requests=len(latencies),
        errors=errors,
        peak_rss_mib=peak_rss_mib,
        extras=extras or {},
    )


def _ask_series(
    timing: Durations, url: str, token: str, engagement_id: UUID, pid: int
) -> Measurement:
    """The series, one request at a time, after a warm-up: the process `pid` answers it."""
    path = _series_path(engagement_id)

    async def run(seconds: float) -> tuple[list[float], int]:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url, timeout=10, headers=headers) as http:

            async def ask() -> bool:
                response = await http.get(path)
                return (
                    response.status_code == 200
                    and len(response.json()["series"][0]["points"]) == 24
                )

            return await _timed(ask, seconds)

    asyncio.run(run(timing.warmup_seconds))
    with PeakRss([pid]) as rss:
        latencies, errors = asyncio.run(run(timing.seconds))
    return _latency_measurement(latencies, errors, rss.peak_mib)


def drive_series(rig: Any, data: Kpi) -> Measurement:
    return _ask_series(
        rig.timing,
        rig.stack.gateway_url,
        data.token,
        data.engagement_id,
        rig.stack.processes["kpi"].pid,
    )


@dataclass(frozen=True)
class BareSeries:
    """The bare app answering the same request with the best raw SQL, one request at a time;
    beside it, that SQL alone (no HTTP), as an extra figure: `sql_p50_ms`."""

    description: str = (
        "bare app behind the same Caddy, best raw SQL (prepared), 1000/p50; "
        "sql_p50_ms: that SQL alone, no HTTP"
    )

    def measure(self, rig: Rig, load: Load) -> Measurement:
        engagement_id = UUID(load.lines[0])
        bare = _ask_series(
            rig.timing, rig.baseline_url, load.token, engagement_id, rig.baseline_pid
        )
        sql_alone = asyncio.run(self._sql_alone(rig, engagement_id))
        return replace(bare, extras={"sql_p50_ms": statistics.median(sql_alone)})

    async def _sql_alone(self, rig: Rig, engagement_id: UUID) -> list[float]:
        connection = await asyncpg.connect(rig.database_dsn)
        try:
            statement = await connection.prepare(RAW_SERIES)

            async def ask() -> bool:
                rows = await statement.fetch(engagement_id, SERIES_METRIC, SERIES_FROM, SERIES_TO)
                return len(rows) == 24

            await _timed(ask, 0.5)
            latencies, _ = await _timed(ask, rig.timing.seconds)
        finally:
            await connection.close()
        return latencies


NDJSON = Scenario(
    name="kpi-ndjson",
    title=f"KPI NDJSON ingestion, {POINTS_PER_REQUEST:,} points per request",
    setup=setup,
    load=_load,
    target=Target(min_ratio=0.5),
    services=("kpi",),
    baseline=RawCopy(_ndjson_rows),
    drive=drive_ndjson,
    unit="rows/s",
)

CSV = Scenario(
    name="kpi-csv",
    title="KPI CSV upload of 1 GB (2 MB in --quick), one request",
    setup=setup,
    load=_load,
    target=Target(min_ratio=0.0, max_peak_rss_mib=300),
    services=("kpi",),
    baseline=RawCopy(_csv_rows),
    drive=drive_csv,
    unit="rows/s",
)

SERIES = Scenario(
    name="kpi-series",
    title="KPI monthly series, one engagement and metric, two years of daily points, "
    "table of 10M points (100k in --quick)",
    setup=setup_series,
    load=_load,
    target=Target(min_ratio=0.5),
    services=("kpi",),
    baseline=BareSeries(),
    drive=drive_series,
    unit="1/p50 s",
)

SCENARIOS = [NDJSON, CSV, SERIES]
