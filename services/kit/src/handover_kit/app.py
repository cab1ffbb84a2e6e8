"""`create_service_app`: what every Handover service is made of, assembled in one place."""

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypedDict

import httpx
from fastapi import APIRouter, FastAPI

from handover_kit.db import Database
from handover_kit.errors import install_problem_handlers
from handover_kit.health import health_router
from handover_kit.logging import AccessLogMiddleware
from handover_kit.migrations import Migrations
from handover_kit.openapi import problem_openapi
from handover_kit.request_id import add_request_id_middleware, pass_request_id_on
from handover_kit.settings import ServiceSettings

UPSTREAM_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    description: str
    version: str
    migrations: Migrations
    routers: Sequence[APIRouter]
    tags: Sequence[Mapping[str, str]] = field(default_factory=tuple)


class State(TypedDict):
    db: Database
    upstreams: dict[str, httpx.AsyncClient]


def create_service_app(
    spec: ServiceSpec,
    settings: ServiceSettings,
    *,
    upstreams: Mapping[str, str] | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """Build a service. `upstreams` names the services it calls and their base URLs;
    `transports` replaces how it reaches them (tests pass in-process ASGI transports)."""
    upstreams = upstreams or {}
    transports = transports or {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[State]:
        async with AsyncExitStack() as stack:
            db = Database(settings, application_name=spec.name)
            stack.push_async_callback(db.dispose)
            clients = {
                name: await stack.enter_async_context(
                    httpx.AsyncClient(
                        base_url=url,
                        timeout=UPSTREAM_TIMEOUT,
                        transport=transports.get(name),
                        event_hooks={"request": [pass_request_id_on]},
                    )
                )
                for name, url in upstreams.items()
            }
            yield {"db": db, "upstreams": clients}

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        openapi_tags=[dict(tag) for tag in spec.tags],
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        # operationId = the handler's name: stable, readable, and what generated clients call.
        generate_unique_id_function=lambda route: route.name,
    )
    install_problem_handlers(app)
    app.include_router(health_router(spec.migrations.schema, spec.migrations.check()))
    for router in spec.routers:
        app.include_router(router)
    app.add_middleware(AccessLogMiddleware)
    add_request_id_middleware(app)  # outermost: every log line has the id
    app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]
    return app


def upstream(state: Any, name: str) -> httpx.AsyncClient:
    client = state.upstreams[name]
    assert isinstance(client, httpx.AsyncClient)
    return client
