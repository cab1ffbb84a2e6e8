"""`create_service_app`: what every Handover service is made of, assembled in one place."""

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypedDict

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from handover_kit.asgi import RequestRecords
from handover_kit.auth import Authenticator, RateLimiter
from handover_kit.body_limit import BodySizeLimit
from handover_kit.credentials import ServiceAuth
from handover_kit.db import ALL_TENANTS, Database
from handover_kit.directory import DirectoryFactory, PrincipalDirectory
from handover_kit.errors import install_problem_handlers
from handover_kit.health import health_router
from handover_kit.messaging import OPERATIONS_TAG, Handler, Messaging
from handover_kit.metrics import Metrics, metrics_router
from handover_kit.migrations import Migrations
from handover_kit.oidc import OidcVerifier
from handover_kit.openapi import problem_openapi
from handover_kit.outbox import Outbox, Relay, RelayPolicy
from handover_kit.request_id import add_request_id_middleware
from handover_kit.routing import RouteIndex
from handover_kit.settings import ServiceSettings
from handover_kit.upstreams import Upstream, UpstreamMetrics, UpstreamPolicy

IDENTITY_PROVIDER_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
IDENTITY_PROVIDER = "identity-provider"
"""The name under which tests pass a transport to a made-up identity provider."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    description: str
    version: str
    migrations: Migrations
    routers: Sequence[APIRouter]
    directory: DirectoryFactory
    """Where this service gets the principal directory from."""
    messaging: Messaging
    """Its outbox, delivered by a relay while the service runs, and its inbox."""
    tags: Sequence[Mapping[str, str]] = field(default_factory=tuple)
    handlers: Sequence[Handler[Any]] = ()
    """The facts from other services that this one applies."""
    body_limits: Mapping[str, int] = field(default_factory=dict)
    """Per path, a body cap other than the settings' `max_body_bytes`: for bulk uploads that
    stream what they read."""


class State(TypedDict):
    db: Database
    upstreams: dict[str, Upstream]
    authenticator: Authenticator


def create_service_app(
    spec: ServiceSpec,
    settings: ServiceSettings,
    *,
    upstreams: Mapping[str, str] | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    workers: Sequence[Callable[[Database], AbstractAsyncContextManager[None]]] = (),
) -> FastAPI:
    """Build a service. `upstreams` names the services it calls and their base URLs;
    `transports` replaces how it reaches them (tests pass in-process ASGI transports);
    `workers` run in the background while the service runs, each given its database."""
    upstreams = upstreams or {}
    transports = transports or {}
    metrics = Metrics()
    upstream_metrics = UpstreamMetrics(metrics.registry)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[State]:
        async with AsyncExitStack() as stack:
            db = Database(settings, application_name=spec.name)
            stack.push_async_callback(db.dispose)
            stack.callback(metrics.watch_pool(db.engine))
            signing_key = settings.signing_key(spec.name)
            services = {
                name: await stack.enter_async_context(
                    Upstream(
                        name,
                        url,
                        policy=_upstream_policy(settings),
                        transport=transports.get(name),
                        auth=ServiceAuth(spec.name, signing_key, audience=name),
                        metrics=upstream_metrics,
                    )
                )
                for name, url in upstreams.items()
            }
            # The directory refreshes on its own schedule: the bare clients, no retries.
            clients = {name: service.http for name, service in services.items()}
            directory = PrincipalDirectory(
                spec.directory(db, clients),
                refresh_seconds=settings.directory_refresh_seconds,
                max_staleness_seconds=settings.directory_max_staleness_seconds,
                miss_refresh_seconds=settings.directory_miss_refresh_seconds,
            )
            await directory.try_refresh(within=2.0)  # serve from the first request if we can
            await stack.enter_async_context(_background(directory.run(), "directory-refresh"))
            outbox = spec.messaging.outbox
            relay = Relay(outbox, db.engine, clients, _relay_policy(settings))
            await stack.enter_async_context(relay.running())
            for worker in workers:
                await stack.enter_async_context(worker(db))
            stack.callback(_watch_outbox(metrics, outbox, db))
            tidying = spec.messaging.keep_tidy(
                db,
                delivered_for=timedelta(days=settings.outbox_retention_days),
                received_for=timedelta(days=settings.inbox_retention_days),
            )
            await stack.enter_async_context(_background(tidying, "messaging-tidy"))
            authenticator = Authenticator(
                service=spec.name,
                directory=directory,
                oidc=await _oidc_verifier(settings, transports.get(IDENTITY_PROVIDER), stack),
                service_keys=settings.trusted_service_key,
                limiter=RateLimiter(settings.rate_limit),
            )
            yield {"db": db, "upstreams": services, "authenticator": authenticator}

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        openapi_tags=[dict(tag) for tag in (*spec.tags, OPERATIONS_TAG)],
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        # Metrics and logs are the kit's own (`RequestRecords`); FastAPI's OpenTelemetry hooks
        # would otherwise look for a provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_problem_handlers(app)
    for router in (
        health_router(spec.migrations.schema, spec.migrations.check()),
        metrics_router(metrics),
        *spec.routers,
        *spec.messaging.routers(spec.name, spec.handlers),
    ):
        _add_routes(app, router)
    app.router.middleware_stack = RouteIndex(app.router)
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, path_limits=spec.body_limits
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
            expose_headers=["ETag", "Location", "Retry-After", "X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(RequestRecords, metrics=metrics)
    add_request_id_middleware(app)  # outermost: every log line has the id
    app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]
    return app


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """Add `router`'s routes to the app's own list rather than include the router: FastAPI
    matches an included router's routes through a wrapper, twice per request, at a tenth of a
    webhook delivery's CPU. A router's routes already carry its prefix, dependencies and tags."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.operation_id is None:
            # The handler's name: stable, readable, and what generated clients call.
            route.operation_id = route.name
        app.router.routes.append(route)


@asynccontextmanager
async def _background(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def _upstream_policy(settings: ServiceSettings) -> UpstreamPolicy:
    return UpstreamPolicy(
        connect_timeout=settings.upstream_connect_timeout_seconds,
        read_timeout=settings.upstream_read_timeout_seconds,
        deadline=settings.upstream_deadline_seconds,
        failure_threshold=settings.upstream_failure_threshold,
        cool_down=settings.upstream_cool_down_seconds,
    )


def _relay_policy(settings: ServiceSettings) -> RelayPolicy:
    return RelayPolicy(
        poll_interval=settings.outbox_poll_seconds,
        max_attempts=settings.outbox_max_attempts,
        backoff_initial=settings.outbox_backoff_initial_seconds,
        backoff_max=settings.outbox_backoff_max_seconds,
        send_timeout=settings.outbox_send_timeout_seconds,
        lease=max(60.0, settings.outbox_send_timeout_seconds * 3),
    )


def _watch_outbox(metrics: Metrics, outbox: Outbox, db: Database) -> Callable[[], None]:
    async def read() -> Mapping[str, float]:
        async with db.session(ALL_TENANTS) as session:
            readings = await outbox.readings(session)
        return {
            "handover_outbox_pending": readings.pending,
            "handover_outbox_oldest_pending_seconds": readings.oldest_pending_seconds,
            "handover_outbox_dead": readings.dead,
        }

    return metrics.add_gauges(
        {
            "handover_outbox_pending": "Facts not yet delivered, dead letters aside.",
            "handover_outbox_oldest_pending_seconds": "Age of the oldest undelivered fact: "
            "the relay's lag.",
            "handover_outbox_dead": "Facts that stopped being retried; replay them by the "
            "admin endpoint.",
        },
        read,
    )


async def _oidc_verifier(
    settings: ServiceSettings,
    transport: httpx.AsyncBaseTransport | None,
    stack: AsyncExitStack,
) -> OidcVerifier | None:
    if not (settings.oidc_issuer and settings.oidc_jwks_url):
        return None
    http = await stack.enter_async_context(
        httpx.AsyncClient(timeout=IDENTITY_PROVIDER_TIMEOUT, transport=transport)
    )
    return OidcVerifier(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        jwks_url=settings.oidc_jwks_url,
        algorithms=settings.oidc_algorithms,
        http=http,
    )


def upstream(state: Any, name: str) -> Upstream:
    service = state.upstreams[name]
    assert isinstance(service, Upstream)
    return service
