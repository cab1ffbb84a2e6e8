"""Request bodies with sensible defaults: a test names only what it is about."""

import asyncio
import time
from collections.abc import Mapping
from typing import Any
from uuid import uuid4

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.identity import ISSUER


def organization(**overrides: Any) -> dict[str, Any]:
    return {"name": "Northwind Health", "kind": "client", **overrides}


async def create_organization(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/organizations", json=organization(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_engagement(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    client_org = await create_organization(client, name=f"Client {uuid4()}")
    partner_org = await create_organization(client, name=f"Partner {uuid4()}", kind="partner")
    body = {
        "name": "Claims operations, Manila",
        "client_id": client_org["id"],
        "partner_id": partner_org["id"],
        "delivery_model": "bot",
        **overrides,
    }
    response = await client.post("/v1/engagements", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_api_key(
    client: httpx.AsyncClient, scopes: list[str], organization_id: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Test integration", "scopes": scopes}
    if organization_id is not None:
        body["organization_id"] = organization_id
    response = await client.post("/v1/api-keys", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def grant(
    client: httpx.AsyncClient, organization_id: str, subject: str, role: str = "member"
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/organizations/{organization_id}/memberships",
        json={"issuer": ISSUER, "subject": subject, "role": role},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def gauge(client: httpx.AsyncClient, name: str) -> float | None:
    """A gauge from the service's /metrics, as a scrape sees it; None if it is not there."""
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    return None


async def facts_delivered(client: httpx.AsyncClient, within: float = 10.0) -> None:
    """Wait until the service's relay has delivered every fact it has to tell."""
    deadline = time.monotonic() + within
    while await gauge(client, "handover_outbox_pending") != 0:
        assert time.monotonic() < deadline, "facts still undelivered"
        await asyncio.sleep(0.05)


# The gateway's routes (deploy/gateway/Caddyfile) that lead elsewhere than engagements.
GATEWAY_ROUTES = {
    "/v1/requisitions": "talent",
    "/v1/admin/talent/": "talent",
    "/v1/metrics": "kpi",
    "/v1/admin/kpi/": "kpi",
}


def gateway(apps: Mapping[str, ASGIApp]) -> httpx.ASGITransport:
    """The services behind one origin, routed by path as the Caddy gateway routes them."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        owner = next(
            (service for prefix, service in GATEWAY_ROUTES.items() if path.startswith(prefix)),
            "engagements",
        )
        await apps[owner](scope, receive, send)

    return httpx.ASGITransport(app=route)


class BlockingTransport(httpx.BaseTransport):
    """A sync transport onto an async one that runs on `loop`: blocking code, run in another
    thread (`asyncio.to_thread`), reaches the in-process services on the test's event loop."""

    def __init__(
        self, transport: httpx.AsyncBaseTransport, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._transport = transport
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def forward() -> httpx.Response:
            response = await self._transport.handle_async_request(
                httpx.Request(request.method, request.url, headers=request.headers, content=body)
            )
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
            return httpx.Response(response.status_code, headers=response.headers, content=raw)

        return asyncio.run_coroutine_threadsafe(forward(), self._loop).result(timeout=60)
