"""How a service asks another one: bounded in time, retried only when that is safe, and cut off
by a circuit breaker while the other side is down. Every way of not getting a usable answer
ends as one 503 problem that names the dependency."""

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
import httpx
import stamina
import structlog
from httpx_aiohttp import AiohttpTransport
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import TypeAdapter, ValidationError

from handover_kit.errors import DependencyUnavailable
from handover_kit.request_id import pass_request_id_on

T = TypeVar("T")

log = structlog.get_logger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset(
    {HTTPStatus.BAD_GATEWAY, HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.GATEWAY_TIMEOUT}
)


@dataclass(frozen=True)
class UpstreamPolicy:
    """Time limits are in seconds. `deadline` bounds a whole call, retries and backoff included."""

    connect_timeout: float = 1.0
    read_timeout: float = 3.0
    deadline: float = 5.0
    attempts: int = 3
    backoff_initial: float = 0.1
    backoff_max: float = 1.0
    backoff_jitter: float = 0.1
    failure_threshold: int = 5
    cool_down: float = 10.0

    @property
    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.read_timeout,
            pool=self.connect_timeout,
        )


class BreakerState(IntEnum):
    """Ordered by severity; the value is what the breaker-state gauge shows."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    """Closed until `failure_threshold` failures in a row; then open, refusing calls, for
    `cool_down` seconds; then half-open: one trial call decides between closed and open again.

    Not thread-safe; it lives on one event loop, and no method awaits."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cool_down: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._trial_in_flight or self._clock() - self._opened_at >= self.cool_down:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a call may go out now. In half-open, only the first caller gets through."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        was_open = self._opened_at is not None
        self._trial_in_flight = False
        if was_open or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()

    def release(self) -> None:
        """A call ended without telling whether the upstream works (it was cancelled)."""
        self._trial_in_flight = False

    def seconds_until_trial(self) -> float | None:
        if self._opened_at is None:
            return None
        return max(0.0, self._opened_at + self.cool_down - self._clock())


class _BreakerStates(Collector):
    """Read at scrape time, so an open breaker whose cool-down has passed shows as half-open."""

    def __init__(self) -> None:
        self.breakers: dict[str, CircuitBreaker] = {}

    def describe(self) -> Iterable[Metric]:
        yield self._family()

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        for name, breaker in sorted(self.breakers.items()):
            family.add_metric([name], breaker.state)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "handover_upstream_breaker_state",
            "Circuit breaker per upstream: 0 closed, 1 half-open, 2 open.",
            labels=["upstream"],
        )


class UpstreamMetrics:
    """The upstream metrics of one app; create one per registry and share it between upstreams."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "handover_upstream_calls",
            "Calls to other services, by how they ended (retries are not separate calls).",
            ["upstream", "method", "outcome"],
            registry=registry,
        )
        self.retries = Counter(
            "handover_upstream_retries",
            "Attempts repeated after a transient failure.",
            ["upstream", "method"],
            registry=registry,
        )
        self._breakers = _BreakerStates()
        registry.register(self._breakers)

    def track(self, upstream: str, breaker: CircuitBreaker) -> None:
        self._breakers.breakers[upstream] = breaker


class AiohttpPool(AiohttpTransport):
    """httpx's API on aiohttp's connection pool. httpx's own pool checks every idle connection
    for every request; under 16 calls in flight that was a third of the gate's client CPU, and
    this takes a service's CPU per gate dry run from about 2.2 ms to 1.5 ms.

    httpx-aiohttp reports any failure to reach a server as a connect timeout; this tells a
    refused connection and one dropped mid-answer apart, as httpx's own transport does."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            if isinstance(cause, aiohttp.ClientConnectorError):
                raise httpx.ConnectError(str(cause), request=request) from cause
            if isinstance(cause, aiohttp.ServerDisconnectedError):
                raise httpx.RemoteProtocolError(str(cause), request=request) from cause
            if isinstance(cause, aiohttp.ClientOSError):
                raise httpx.ReadError(str(cause), request=request) from cause
            raise


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing from the answers it is shown."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass


_NO_COOKIES = _NoCookies()


class ServiceClient(httpx.AsyncClient):
    """httpx's client without a cookie jar: our services set no cookies on one another, and
    httpx reads every answer for them through the standard library's cookie machinery, about
    35 us of each call's 105 us in the client."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("calls between services carry no cookies")


class _Failed(Exception):
    """One attempt, or the whole call, gave no usable answer."""

    def __init__(self, outcome: str, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.retryable = retryable


def _worth_retrying(exc: Exception) -> bool:
    return isinstance(exc, _Failed) and exc.retryable


class Upstream:
    """One other service, reached at `base_url`, whose calls name a path under it (`/v1/...`);
    `name` is what problems and metrics call it.

    Answers below 500 are returned as they are: a 404 or 409 is the upstream's answer, for the
    caller to interpret. Everything else raises `DependencyUnavailable`."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        policy: UpstreamPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        auth: httpx.Auth | None = None,
        metrics: UpstreamMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.policy = policy or UpstreamPolicy()
        self.breaker = CircuitBreaker(
            failure_threshold=self.policy.failure_threshold,
            cool_down=self.policy.cool_down,
            clock=clock,
        )
        self._metrics = metrics or UpstreamMetrics(CollectorRegistry())
        self._metrics.track(name, self.breaker)
        # Calls name an absolute URL: httpx parses one once, while merging a path into its base
        # URL parses twice more, about 20 us of each call.
        self._base_url = base_url.rstrip("/")
        self._client = ServiceClient(
            base_url=base_url,
            timeout=self.policy.timeout,
            transport=transport or AiohttpPool(),
            auth=auth,
            event_hooks={"request": [pass_request_id_on]},
        )

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._client.__aexit__(exc_type, exc, traceback)

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def http(self) -> httpx.AsyncClient:
        """The bare client: same base URL, timeouts, credentials and request id, but no retries,
        breaker or deadline. For callers with retries of their own, such as the outbox relay."""
        return self._client

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        method = method.upper()
        arguments: dict[str, Any] = {
            "params": params,
            "headers": headers,
            "json": json,
            "content": content,
        }
        try:
            response = await self._call(method, url, arguments)
        except _Failed as failure:
            self._metrics.calls.labels(self.name, method, failure.outcome).inc()
            raise self.unavailable(failure.reason) from failure
        outcome = "ok" if response.status_code < HTTPStatus.BAD_REQUEST else "client_error"
        self._metrics.calls.labels(self.name, method, outcome).inc()
        return response

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return await self.request("GET", url, params=params, headers=headers)

    async def post(
        self,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return await self.request("POST", url, json=json, content=content, headers=headers)

    def parse(self, response: httpx.Response, type_: type[T]) -> T:
        """The body as `type_`; an answer that does not fit makes the dependency unavailable."""
        try:
            return TypeAdapter(type_).validate_json(response.content)
        except ValidationError:
            raise self.unavailable(
                f"unreadable {response.status_code} answer to {response.request.method}"
            ) from None

    def unavailable(self, reason: str, detail: str | None = None) -> DependencyUnavailable:
        """The problem to raise when this upstream gave no usable answer. `reason` is only
        logged: this service's callers have no use for another service's internals."""
        log.warning("upstream_unavailable", upstream=self.name, reason=reason)
        detail = detail or f"The {self.name} service is unavailable; try again later."
        wait = self.breaker.seconds_until_trial()
        if wait is None:
            return DependencyUnavailable(detail, dependency=self.name)
        return DependencyUnavailable(
            detail, dependency=self.name, retry_after=max(1, math.ceil(wait))
        )

    async def _call(self, method: str, url: str, arguments: dict[str, Any]) -> httpx.Response:
        policy = self.policy
        deadline = asyncio.timeout(policy.deadline)
        try:
            async with deadline:
                if method not in IDEMPOTENT_METHODS:
                    return await self._attempt(method, url, arguments, deadline)
                async for attempt in stamina.retry_context(
                    on=_worth_retrying,
                    attempts=policy.attempts,
                    timeout=policy.deadline,
                    wait_initial=policy.backoff_initial,
                    wait_max=policy.backoff_max,
                    wait_jitter=policy.backoff_jitter,
                ):
                    with attempt:
                        if attempt.num > 1:
                            self._metrics.retries.labels(self.name, method).inc()
                        return await self._attempt(method, url, arguments, deadline)
        except TimeoutError as exc:
            if not deadline.expired():
                raise
            raise _Failed("timeout", f"no answer within {policy.deadline}s") from exc
        raise AssertionError("stamina ended without an attempt")

    async def _attempt(
        self, method: str, url: str, arguments: dict[str, Any], deadline: asyncio.Timeout
    ) -> httpx.Response:
        breaker = self.breaker
        if not breaker.allow():
            raise _Failed("short_circuited", "circuit open")
        try:
            response = await self._client.request(method, self._base_url + url, **arguments)
        except httpx.TimeoutException as exc:
            breaker.record_failure()
            raise _Failed("timeout", type(exc).__name__, retryable=True) from exc
        except httpx.TransportError as exc:
            breaker.record_failure()
            raise _Failed("transport_error", type(exc).__name__, retryable=True) from exc
        except httpx.HTTPError as exc:
            breaker.record_failure()
            raise _Failed("unreadable", type(exc).__name__) from exc
        except asyncio.CancelledError:
            # A hanging upstream is exactly what the breaker is for; a caller going away is not.
            if deadline.expired():
                breaker.record_failure()
            else:
                breaker.release()
            raise
        except BaseException:
            breaker.release()
            raise
        if response.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR:
            breaker.record_failure()
            raise _Failed(
                "server_error",
                f"status {response.status_code}",
                retryable=response.status_code in RETRYABLE_STATUSES,
            )
        breaker.record_success()
        return response
