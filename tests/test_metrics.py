"""Prometheus metrics: requests by route template, the pool, and gauges computed at scrape time;
and the access log, written by the same middleware."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import structlog
from fastapi import APIRouter, FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import create_async_engine

from handover_kit.asgi import RequestRecords
from handover_kit.errors import NotFound, install_problem_handlers
from handover_kit.metrics import Metrics, metrics_router
from tests.conftest import Services

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def build_app(metrics: Metrics) -> FastAPI:
    engagements = APIRouter(prefix="/v1/engagements")

    @engagements.get("/{engagement_id}")
    async def read_engagement(engagement_id: str) -> dict[str, str]:
        if engagement_id == "missing":
            raise NotFound("no such engagement")
        if engagement_id == "broken":
            raise RuntimeError("a bug")
        return {"id": engagement_id}

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(engagements)
    app.include_router(metrics_router(metrics))
    app.add_middleware(RequestRecords, metrics=metrics)
    app.state.metrics = metrics
    return app


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def client(metrics: Metrics) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(metrics), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://engagements") as client:
        yield client


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests_of(samples: Samples, **labels: str) -> float | None:
    return samples.get(("handover_http_requests_total", frozenset(labels.items())))


async def test_requests_are_counted_by_route_template_not_raw_path(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/v1/engagements/0196f5b4-7d3c-7000-8000-000000000001")
    await client.get("/v1/engagements/0196f5b4-7d3c-7000-8000-000000000002")
    samples = await scrape(client)
    template = {"method": "GET", "route": "/v1/engagements/{engagement_id}", "status": "200"}
    assert requests_of(samples, **template) == 2
    assert samples[("handover_http_request_duration_seconds_count", frozenset(template.items()))]
    assert not any("0196f5b4" in value for _, labels in samples for _, value in labels)


@pytest.mark.parametrize(
    ("method", "path", "route", "status"),
    [
        ("GET", "/v1/engagements/missing", "/v1/engagements/{engagement_id}", "404"),
        ("GET", "/v1/engagements/broken", "/v1/engagements/{engagement_id}", "500"),
        ("DELETE", "/v1/engagements/1", "/v1/engagements/{engagement_id}", "405"),
        ("GET", "/v1/nothing/1", "<unmatched>", "404"),
        ("BREW", "/v1/engagements/1", "/v1/engagements/{engagement_id}", "405"),
    ],
)
async def test_every_answer_is_counted_with_its_status(
    client: httpx.AsyncClient, method: str, path: str, route: str, status: str
) -> None:
    response = await client.request(method, path)
    assert str(response.status_code) == status
    label = method if method != "BREW" else "OTHER"
    assert requests_of(await scrape(client), method=label, route=route, status=status) == 1


async def test_each_request_has_one_access_log_line_without_its_query_even_when_it_fails(
    client: httpx.AsyncClient,
) -> None:
    with structlog.testing.capture_logs() as lines:
        await client.get("/v1/engagements/e-1", params={"token": "hov_live_secret"})
        await client.get("/v1/engagements/missing")
        await client.get("/v1/engagements/broken")
    logged = [line for line in lines if line["event"] == "request"]
    assert [(line["method"], line["path"], line["status"]) for line in logged] == [
        ("GET", "/v1/engagements/e-1", 200),
        ("GET", "/v1/engagements/missing", 404),
        ("GET", "/v1/engagements/broken", 500),
    ]
    assert all(line["duration_ms"] >= 0 and line["principal"] is None for line in logged)
    assert "hov_live_secret" not in repr(lines)


async def test_unmatched_paths_share_one_series(client: httpx.AsyncClient) -> None:
    for path in ("/a", "/b/c", "/v1/engagements"):
        await client.get(path)
    samples = await scrape(client)
    assert requests_of(samples, method="GET", route="<unmatched>", status="404") == 3


async def test_the_metrics_endpoint_is_left_out_of_the_openapi_document(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/metrics" not in paths
    assert "/v1/engagements/{engagement_id}" in paths


async def test_the_exposition_parses_and_includes_process_metrics(
    client: httpx.AsyncClient,
) -> None:
    families = {
        family.name: family
        for family in text_string_to_metric_families((await client.get("/metrics")).text)
    }
    assert families["handover_http_requests"].type == "counter"
    assert families["handover_http_request_duration_seconds"].type == "histogram"
    assert "process_resident_memory_bytes" in families


async def test_openmetrics_is_served_when_asked_for(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


async def test_pool_gauges_appear(metrics: Metrics, client: httpx.AsyncClient) -> None:
    # Nothing connects until a connection is checked out, so no database is needed.
    engine = create_async_engine(
        "postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=4, max_overflow=2
    )
    try:
        stop = metrics.watch_pool(engine)
        samples = await scrape(client)
        pool = frozenset({("pool", "main")})
        assert samples[("handover_db_pool_size", pool)] == 4
        assert samples[("handover_db_pool_checked_out", pool)] == 0
        assert samples[("handover_db_pool_overflow", pool)] == 0

        stop()
        assert ("handover_db_pool_size", pool) not in await scrape(client)
    finally:
        await engine.dispose()


async def test_gauges_are_computed_at_scrape_time_by_sync_and_async_readers(
    metrics: Metrics, client: httpx.AsyncClient
) -> None:
    pending = [3.0]

    async def oldest_age() -> float:
        await asyncio.sleep(0)
        return pending[0] * 10

    metrics.add_gauge("handover_outbox_pending", "Events not yet published.", lambda: pending[0])
    metrics.add_gauge("handover_outbox_oldest_seconds", "Age of the oldest.", oldest_age)

    samples = await scrape(client)
    assert samples[("handover_outbox_pending", frozenset())] == 3
    assert samples[("handover_outbox_oldest_seconds", frozenset())] == 30

    pending[0] = 1.0
    samples = await scrape(client)
    assert samples[("handover_outbox_pending", frozenset())] == 1
    assert samples[("handover_outbox_oldest_seconds", frozenset())] == 10


async def test_one_reading_can_feed_several_gauges(
    metrics: Metrics, client: httpx.AsyncClient
) -> None:
    queries = 0

    async def outbox_readings() -> dict[str, float]:
        nonlocal queries
        queries += 1
        return {"handover_outbox_pending": 4, "handover_outbox_dead": 1}

    metrics.add_gauges(
        {"handover_outbox_pending": "Not yet delivered.", "handover_outbox_dead": "Given up."},
        outbox_readings,
    )
    samples = await scrape(client)
    assert samples[("handover_outbox_pending", frozenset())] == 4
    assert samples[("handover_outbox_dead", frozenset())] == 1
    assert queries == 1


async def test_a_failing_or_slow_gauge_is_left_out_without_failing_the_scrape(
    client: httpx.AsyncClient,
) -> None:
    metrics = Metrics(gauge_timeout=0.05)

    def broken() -> float:
        raise RuntimeError("database gone")

    async def hanging() -> float:
        await asyncio.sleep(30)
        return 1.0

    metrics.add_gauge("handover_broken", "Fails.", broken)
    metrics.add_gauge("handover_hanging", "Hangs.", hanging)
    metrics.add_gauge("handover_fine", "Works.", lambda: 7)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=build_app(metrics)), base_url="http://e"
    ) as other:
        samples = await asyncio.wait_for(scrape(other), timeout=5)
    assert samples[("handover_fine", frozenset())] == 7
    assert ("handover_broken", frozenset()) not in samples
    assert ("handover_hanging", frozenset()) not in samples


async def test_adding_a_gauge_again_replaces_it_and_removing_it_drops_it(
    metrics: Metrics, client: httpx.AsyncClient
) -> None:
    metrics.add_gauge("handover_outbox_pending", "Events not yet published.", lambda: 1)
    remove = metrics.add_gauge("handover_outbox_pending", "Events not yet published.", lambda: 2)
    assert (await scrape(client))[("handover_outbox_pending", frozenset())] == 2
    remove()
    assert ("handover_outbox_pending", frozenset()) not in await scrape(client)


async def test_a_gauge_may_not_take_the_name_of_another_metric(metrics: Metrics) -> None:
    with pytest.raises(ValueError, match="handover_http_requests"):
        metrics.add_gauge("handover_http_requests_total", "Clash.", lambda: 1)


async def test_apps_in_one_process_keep_their_metrics_apart() -> None:
    first, second = Metrics(), Metrics()
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_app(first)), base_url="http://a"
        ) as a,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_app(second)), base_url="http://b"
        ) as b,
    ):
        await a.get("/v1/engagements/1")
        assert (
            requests_of(
                await scrape(a), method="GET", route="/v1/engagements/{engagement_id}", status="200"
            )
            == 1
        )
        assert (
            requests_of(
                await scrape(b), method="GET", route="/v1/engagements/{engagement_id}", status="200"
            )
            is None
        )


async def test_every_service_exposes_request_and_pool_metrics(services: Services) -> None:
    assert (await services.engagements.get("/v1/engagements")).status_code == 200
    for name in ("engagements", "talent", "kpi"):
        anonymous = getattr(await services.acting_as(None), name)
        exposition = (await anonymous.get("/metrics")).text
        families = {family.name for family in text_string_to_metric_families(exposition)}
        assert {"handover_http_requests", "handover_db_pool_checked_out"} <= families, name
    served = (await (await services.acting_as(None)).engagements.get("/metrics")).text
    assert 'route="/v1/engagements"' in served
