"""Calls to other services: bounded, retried only when safe, cut off while the other is down."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Generator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from handover_kit.errors import DependencyUnavailable, install_problem_handlers
from handover_kit.request_id import REQUEST_ID_HEADER, add_request_id_middleware
from handover_kit.upstreams import (
    AiohttpPool,
    BreakerState,
    Upstream,
    UpstreamMetrics,
    UpstreamPolicy,
)

Handler = Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]

# Real backoff, only small enough not to slow the suite down.
QUICK = UpstreamPolicy(
    deadline=2.0,
    attempts=3,
    backoff_initial=0.001,
    backoff_max=0.005,
    backoff_jitter=0.001,
    failure_threshold=3,
    cool_down=30.0,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Script:
    """The upstream's side: answers in order (the last one repeats), and every request it saw."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, json={"status": answer})


Factory = Callable[..., Upstream]


def state(upstream: Upstream) -> BreakerState:
    return upstream.breaker.state


@pytest.fixture
async def upstreams() -> AsyncIterator[Factory]:
    async with AsyncExitStack() as stack:

        def make(
            handler: Handler,
            policy: UpstreamPolicy = QUICK,
            **options: object,
        ) -> Upstream:
            upstream = Upstream(
                "engagements",
                "http://engagements",
                policy=policy,
                transport=httpx.MockTransport(handler),
                **options,  # type: ignore[arg-type]
            )
            stack.push_async_callback(upstream.aclose)
            return upstream

        yield make


async def test_a_get_is_retried_on_503_until_it_answers(upstreams: Factory) -> None:
    script = Script(503, 503, 200)
    response = await upstreams(script).get("/v1/engagements/1")
    assert response.status_code == 200
    assert len(script.requests) == 3


async def test_a_get_is_retried_on_transport_errors(upstreams: Factory) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), 200)
    response = await upstreams(script).get("/v1/engagements/1")
    assert response.status_code == 200
    assert len(script.requests) == 3


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])
async def test_retries_of_an_idempotent_method_are_bounded(upstreams: Factory, method: str) -> None:
    script = Script(503)
    with pytest.raises(DependencyUnavailable):
        await upstreams(script).request(method, "/v1/engagements/1")
    assert len(script.requests) == QUICK.attempts


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("failure", [503, httpx.ConnectError("refused")])
async def test_a_post_or_patch_is_never_retried(
    upstreams: Factory, method: str, failure: int | Exception
) -> None:
    script = Script(failure, 201)
    with pytest.raises(DependencyUnavailable):
        await upstreams(script).request(method, "/v1/engagements", json={"name": "x"})
    assert len(script.requests) == 1


async def test_a_cookie_an_upstream_sets_is_never_sent_back(upstreams: Factory) -> None:
    sent: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, headers={"Set-Cookie": "session=abc; Path=/"}, json={})

    upstream = upstreams(handler)
    await upstream.get("/v1/engagements/1")
    await upstream.get("/v1/engagements/2")
    assert [request.headers.get("cookie") for request in sent] == [None, None]
    assert not upstream.http.cookies


async def test_a_500_fails_at_once_without_retries(upstreams: Factory) -> None:
    script = Script(500, 200)
    with pytest.raises(DependencyUnavailable):
        await upstreams(script).get("/v1/engagements/1")
    assert len(script.requests) == 1


@pytest.mark.parametrize("status", [400, 404, 409, 422])
async def test_a_4xx_answer_reaches_the_caller_unchanged(upstreams: Factory, status: int) -> None:
    script = Script(status)
    upstream = upstreams(script)
    for _ in range(QUICK.failure_threshold + 1):
        response = await upstream.get("/v1/engagements/1")
        assert response.status_code == status
        assert response.json() == {"status": status}
    assert len(script.requests) == QUICK.failure_threshold + 1
    assert state(upstream) is BreakerState.CLOSED


async def test_a_hanging_upstream_is_a_503_within_the_deadline(upstreams: Factory) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        raise AssertionError("the deadline should have cut this off")

    deadline = 0.3
    upstream = upstreams(hang, UpstreamPolicy(deadline=deadline, failure_threshold=1))
    started = time.perf_counter()
    with pytest.raises(DependencyUnavailable) as raised:
        await upstream.get("/v1/engagements/1")
    assert time.perf_counter() - started < deadline + 0.5
    assert raised.value.extensions == {"dependency": "engagements"}
    assert state(upstream) is BreakerState.OPEN


async def test_backoff_never_outlasts_the_deadline(upstreams: Factory) -> None:
    script = Script(503)
    slow_backoff = UpstreamPolicy(
        deadline=0.3, attempts=10, backoff_initial=5.0, backoff_max=5.0, backoff_jitter=0.0
    )
    started = time.perf_counter()
    with pytest.raises(DependencyUnavailable):
        await upstreams(script, slow_backoff).get("/v1/engagements/1")
    assert time.perf_counter() - started < 0.3 + 0.5
    assert len(script.requests) == 1


async def test_the_breaker_opens_after_consecutive_failures_then_fails_fast(
    upstreams: Factory,
) -> None:
    script = Script(503)
    upstream = upstreams(script, clock=Clock())
    with pytest.raises(DependencyUnavailable):
        await upstream.get("/v1/engagements/1")  # three attempts: the threshold
    assert state(upstream) is BreakerState.OPEN
    called = len(script.requests)

    with pytest.raises(DependencyUnavailable) as raised:
        await upstream.get("/v1/engagements/1")
    with pytest.raises(DependencyUnavailable):
        await upstream.post("/v1/engagements", json={})
    assert len(script.requests) == called
    assert raised.value.headers == {"Retry-After": "30"}


async def test_successes_in_between_keep_the_breaker_closed(upstreams: Factory) -> None:
    script = Script(500, 500, 200, 500, 500, 200)
    upstream = upstreams(script)
    for _ in range(6):
        with suppress(DependencyUnavailable):
            await upstream.post("/v1/engagements", json={})
    assert state(upstream) is BreakerState.CLOSED


async def _trip(upstream: Upstream) -> None:
    for _ in range(QUICK.failure_threshold):
        with pytest.raises(DependencyUnavailable):
            await upstream.post("/v1/engagements", json={})
    assert state(upstream) is BreakerState.OPEN


async def test_after_the_cool_down_one_successful_trial_closes_the_breaker(
    upstreams: Factory,
) -> None:
    clock = Clock()
    script = Script(*[503] * QUICK.failure_threshold, 200)
    upstream = upstreams(script, clock=clock)
    await _trip(upstream)

    clock.advance(QUICK.cool_down - 1)
    assert state(upstream) is BreakerState.OPEN
    clock.advance(1)
    assert state(upstream) is BreakerState.HALF_OPEN

    assert (await upstream.get("/v1/engagements/1")).status_code == 200
    assert state(upstream) is BreakerState.CLOSED


async def test_after_the_cool_down_a_failed_trial_opens_the_breaker_again(
    upstreams: Factory,
) -> None:
    clock = Clock()
    script = Script(503)
    upstream = upstreams(script, clock=clock)
    await _trip(upstream)
    clock.advance(QUICK.cool_down)
    called = len(script.requests)

    with pytest.raises(DependencyUnavailable):
        await upstream.get("/v1/engagements/1")
    assert len(script.requests) == called + 1  # the trial only: no retries through the breaker
    assert state(upstream) is BreakerState.OPEN

    with pytest.raises(DependencyUnavailable):
        await upstream.get("/v1/engagements/1")
    assert len(script.requests) == called + 1


async def test_half_open_lets_one_trial_through_at_a_time(upstreams: Factory) -> None:
    clock = Clock()
    trial_started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow_then_fine(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls <= QUICK.failure_threshold:
            return httpx.Response(503)
        trial_started.set()
        await release.wait()
        return httpx.Response(200)

    upstream = upstreams(slow_then_fine, clock=clock)
    await _trip(upstream)
    clock.advance(QUICK.cool_down)

    trial = asyncio.create_task(upstream.get("/v1/engagements/1"))
    await trial_started.wait()
    with pytest.raises(DependencyUnavailable):
        await upstream.get("/v1/engagements/2")
    release.set()
    assert (await trial).status_code == 200
    assert state(upstream) is BreakerState.CLOSED


async def test_a_caller_giving_up_does_not_count_against_the_upstream(
    upstreams: Factory,
) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        raise AssertionError("cancelled before this")

    upstream = upstreams(hang, UpstreamPolicy(failure_threshold=1))
    call = asyncio.create_task(upstream.get("/v1/engagements/1"))
    await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert state(upstream) is BreakerState.CLOSED


class Engagement(BaseModel):
    id: str


async def test_an_unreadable_answer_makes_the_dependency_unavailable(upstreams: Factory) -> None:
    async def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>gateway login</html>")

    upstream = upstreams(garbage)
    response = await upstream.get("/v1/engagements/1")
    with pytest.raises(DependencyUnavailable):
        upstream.parse(response, Engagement)


async def test_a_readable_answer_is_parsed(upstreams: Factory) -> None:
    async def engagement(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "e-1"})

    upstream = upstreams(engagement)
    assert upstream.parse(await upstream.get("/v1/engagements/1"), Engagement).id == "e-1"


class CountingAuth(httpx.Auth):
    def __init__(self) -> None:
        self.issued = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.issued += 1
        request.headers["Authorization"] = f"Bearer token-{self.issued}"
        yield request


async def test_every_attempt_carries_fresh_credentials(upstreams: Factory) -> None:
    script = Script(503, 200)
    await upstreams(script, auth=CountingAuth()).get("/v1/engagements/1")
    assert [r.headers["Authorization"] for r in script.requests] == [
        "Bearer token-1",
        "Bearer token-2",
    ]


@pytest.fixture
def app_calling(upstreams: Factory) -> Callable[[Handler], httpx.AsyncClient]:
    """A client of a service whose one route asks the engagements upstream."""

    def build(handler: Handler) -> httpx.AsyncClient:
        upstream = upstreams(handler)
        app = FastAPI()
        install_problem_handlers(app)
        add_request_id_middleware(app)

        @app.get("/v1/requisitions/{requisition_id}")
        async def read_requisition(requisition_id: str) -> dict[str, int]:
            response = await upstream.get("/v1/engagements/1")
            return {"engagement_status": response.status_code}

        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://talent")

    return build


async def test_the_problem_names_the_dependency(
    app_calling: Callable[[Handler], httpx.AsyncClient],
) -> None:
    async with app_calling(Script(httpx.ConnectError("refused"))) as client:
        response = await client.get("/v1/requisitions/1")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"]
    body = response.json()
    assert body["type"] == "/problems/dependency-unavailable"
    assert body["dependency"] == "engagements"
    assert "refused" not in response.text


async def test_the_request_id_is_passed_on(
    app_calling: Callable[[Handler], httpx.AsyncClient],
) -> None:
    script = Script(200)
    async with app_calling(script) as client:
        response = await client.get("/v1/requisitions/1", headers={REQUEST_ID_HEADER: "abc-1"})
    assert response.status_code == 200
    assert script.requests[0].headers[REQUEST_ID_HEADER] == "abc-1"


async def test_calls_and_breaker_state_are_counted(upstreams: Factory) -> None:
    registry = CollectorRegistry()
    metrics = UpstreamMetrics(registry)
    upstream = upstreams(Script(404, 503), metrics=metrics, clock=Clock())

    await upstream.get("/v1/engagements/1")
    with pytest.raises(DependencyUnavailable):
        await upstream.get("/v1/engagements/1")
    with pytest.raises(DependencyUnavailable):
        await upstream.get("/v1/engagements/1")

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {"upstream": "engagements", **labels})

    assert sample("handover_upstream_calls_total", method="GET", outcome="client_error") == 1
    assert sample("handover_upstream_calls_total", method="GET", outcome="server_error") == 1
    assert sample("handover_upstream_calls_total", method="GET", outcome="short_circuited") == 1
    assert sample("handover_upstream_retries_total", method="GET") == 2
    assert sample("handover_upstream_breaker_state") == BreakerState.OPEN


Respond = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


@asynccontextmanager
async def _loopback(respond: Respond) -> AsyncIterator[str]:
    """The URL of a server on loopback that handles each connection with `respond`."""
    server = await asyncio.start_server(respond, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    finally:
        server.close()
        await server.wait_closed()


def _over_the_pool() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=AiohttpPool(), timeout=2.0)


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


async def test_the_pool_tells_a_refused_connection_from_a_timeout() -> None:
    async with _loopback(_hang_up) as url:
        pass  # the port is free again: nothing listens there now
    async with _over_the_pool() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)


async def test_the_pool_reports_a_server_hanging_up_unanswered_as_a_protocol_error() -> None:
    async with _loopback(_hang_up) as url, _over_the_pool() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(url)


async def test_the_pool_reads_an_answer_and_keeps_the_connection() -> None:
    connections = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        for _ in range(2):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            writer.write(b'Content-Length: 12\r\n\r\n{"ok": true}')
            await writer.drain()
        writer.close()

    async with _loopback(answer) as url, _over_the_pool() as client:
        answers = [await client.get(url) for _ in range(2)]
    assert [answer.json() for answer in answers] == [{"ok": True}] * 2
    assert connections == 1
