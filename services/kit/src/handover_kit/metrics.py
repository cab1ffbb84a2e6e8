"""Prometheus metrics: requests by route template, the database pool, and gauges other modules
compute at scrape time. Each app has a registry of its own, so apps in one process stay apart."""

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Final

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.types import Scope

log = structlog.get_logger(__name__)

UNMATCHED: Final = "<unmatched>"
OTHER_METHOD: Final = "OTHER"
_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})

GaugeReader = Callable[[], float | Awaitable[float]]
Reader = Callable[[], Mapping[str, float] | Awaitable[Mapping[str, float]]]


class _ScrapeTimeGauges(Collector):
    def __init__(self, documentation: Mapping[str, str], read: Reader, limit: float) -> None:
        self.documentation = dict(documentation)
        self.read = read
        self.limit = limit
        self.values: Mapping[str, float] = {}

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(name, doc) for name, doc in self.documentation.items()]

    def collect(self) -> Iterable[Metric]:
        return [
            GaugeMetricFamily(name, doc, value=self.values[name])
            for name, doc in self.documentation.items()
            if name in self.values
        ]

    async def refresh(self) -> None:
        try:
            async with asyncio.timeout(self.limit):
                reading = self.read()
                if inspect.isawaitable(reading):
                    reading = await reading
            values = {name: float(reading[name]) for name in self.documentation}
        except Exception:
            # One broken reading must not cost the whole scrape; a missing series is
            # what alerting notices, a stale one is not.
            log.warning("gauges_unreadable", gauges=sorted(self.documentation), exc_info=True)
            values = {}
        self.values = values


class _Pools(Collector):
    def __init__(self) -> None:
        self.engines: dict[str, AsyncEngine] = {}

    def describe(self) -> Iterable[Metric]:
        return self._families().values()

    def collect(self) -> Iterable[Metric]:
        families = self._families()
        for name, engine in sorted(self.engines.items()):
            pool = engine.pool  # read each time: dispose() replaces it
            if not isinstance(pool, QueuePool):
                continue
            families["checked_out"].add_metric([name], pool.checkedout())
            families["size"].add_metric([name], pool.size())
            # SQLAlchemy counts overflow from -size upwards; below zero means none in use.
            families["overflow"].add_metric([name], max(0, pool.overflow()))
        return families.values()

    @staticmethod
    def _families() -> dict[str, GaugeMetricFamily]:
        return {
            "checked_out": GaugeMetricFamily(
                "handover_db_pool_checked_out",
                "Database connections in use.",
                labels=["pool"],
            ),
            "size": GaugeMetricFamily(
                "handover_db_pool_size",
                "Connections the pool keeps open.",
                labels=["pool"],
            ),
            "overflow": GaugeMetricFamily(
                "handover_db_pool_overflow",
                "Connections open beyond the pool size.",
                labels=["pool"],
            ),
        }


class Metrics:
    """One app's metrics. Create it when the app is built (the middleware needs it then); put it
    on `app.state.metrics`; watch pools and add gauges from the lifespan."""

    def __init__(self, *, gauge_timeout: float = 2.0) -> None:
        self.registry = CollectorRegistry()
        self.gauge_timeout = gauge_timeout
        self.requests = Counter(
            "handover_http_requests",
            "HTTP requests answered, by route template.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "handover_http_request_duration_seconds",
            "Time from receiving a request to finishing its response.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        # Each label set's pair of series, found once: `labels()` checks its arguments and takes
        # a lock on every call, twice a request. Route templates, methods and statuses are few.
        self._series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}
        self._pools = _Pools()
        self.registry.register(self._pools)
        self._gauges: dict[frozenset[str], _ScrapeTimeGauges] = {}
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def record_request(self, labels: tuple[str, str, str], seconds: float) -> None:
        """Count and time one answered request; `labels` as `request_labels` makes them."""
        series = self._series.get(labels)
        if series is None:
            series = (self.requests.labels(*labels), self.request_duration.labels(*labels))
            self._series[labels] = series
        count, duration = series
        count.inc()
        duration.observe(seconds)

    def watch_pool(self, engine: AsyncEngine, name: str = "main") -> Callable[[], None]:
        """Report the engine's pool as `pool=name`, replacing any engine watched under that name.
        Returns the function that stops watching (for an exit stack)."""
        self._pools.engines[name] = engine

        def forget() -> None:
            if self._pools.engines.get(name) is engine:
                del self._pools.engines[name]

        return forget

    def add_gauge(self, name: str, documentation: str, read: GaugeReader) -> Callable[[], None]:
        """A gauge whose value `read` (sync or async) computes at each scrape; see `add_gauges`."""

        async def reading() -> Mapping[str, float]:
            value = read()
            if inspect.isawaitable(value):
                value = await value
            return {name: value}

        return self.add_gauges({name: documentation}, reading)

    def add_gauges(self, documentation: Mapping[str, str], read: Reader) -> Callable[[], None]:
        """Gauges named by `documentation`'s keys, whose values `read` (sync or async) computes
        at each scrape, within `gauge_timeout`, as a mapping by name: one query can feed several.
        A reading that fails or takes too long leaves them out of that scrape. Adding the same
        names again replaces the reader. Returns the function that removes them."""
        key = frozenset(documentation)
        self._remove_gauges(key)
        gauges = _ScrapeTimeGauges(documentation, read, self.gauge_timeout)
        self.registry.register(gauges)
        self._gauges[key] = gauges

        def remove() -> None:
            if self._gauges.get(key) is gauges:
                self._remove_gauges(key)

        return remove

    def _remove_gauges(self, key: frozenset[str]) -> None:
        gauges = self._gauges.pop(key, None)
        if gauges is not None:
            self.registry.unregister(gauges)

    async def refresh(self) -> None:
        """Compute the scrape-time gauges; `exposition` does it before every scrape."""
        await asyncio.gather(*(gauge.refresh() for gauge in list(self._gauges.values())))

    async def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format `accept` asks for, and its media type."""
        await self.refresh()
        encode, media_type = choose_encoder(accept)
        return encode(self.registry), media_type


def metrics_router(metrics: Metrics) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def prometheus_metrics(request: Request) -> Response:
        body, media_type = await metrics.exposition(request.headers.get("accept", ""))
        return Response(body, media_type=media_type)

    return router


def request_labels(scope: Scope, status: int) -> tuple[str, str, str]:
    """A request's labels: method, route template and status. Raw paths would make a series per
    id; an unknown method or path shares one label value."""
    method = scope["method"] if scope["method"] in _METHODS else OTHER_METHOD
    return method, _route_template(scope), str(status)


def _route_template(scope: Scope) -> str:
    # Set by the router on a match, including a path match with the wrong method (405).
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED
