"""Request bodies with sensible defaults: a test names only what it is about."""

import asyncio
import hmac
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks import Webhook
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
    "/v1/roles": "talent",
    "/v1/requisitions": "talent",
    "/v1/candidates": "talent",
    "/v1/applications": "talent",
    "/v1/team-members": "talent",
    "/v1/employment-transfers": "talent",
    "/v1/hris/": "talent",
    "/v1/admin/talent/": "talent",
    "/v1/metrics": "kpi",
    "/v1/targets": "kpi",
    "/v1/scorecards/": "kpi",
    "/v1/data-points": "kpi",
    "/v1/series": "kpi",
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


async def create_hris_source(
    client: httpx.AsyncClient,
    engagement_id: str,
    vendor: str = "standard_webhooks",
    **overrides: Any,
) -> dict[str, Any]:
    """A source; its answer holds the signing secret, shown this once."""
    body: dict[str, Any] = {
        "engagement_id": engagement_id,
        "name": f"{vendor} feed",
        "vendor": vendor,
    }
    if vendor != "standard_webhooks":
        body["secret"] = f"{vendor}-secret-{uuid4().hex}"
    response = await client.post("/v1/hris/sources", json={**body, **overrides})
    assert response.status_code == 201, response.text
    return dict(response.json())


def standard_webhook(
    secret: str,
    kind: str,
    data: dict[str, Any],
    *,
    msg_id: str | None = None,
    sent_at: float | None = None,
) -> tuple[dict[str, str], bytes]:
    """A Standard Webhooks delivery of one canonical event: headers and body, signed with `secret`
    by the maintained library, as a sender would."""
    msg_id = msg_id or f"msg_{uuid4().hex}"
    when = datetime.fromtimestamp(int(sent_at if sent_at is not None else time.time()), tz=UTC)
    body = json.dumps({"type": kind, "timestamp": when.isoformat(), "data": data}).encode()
    signature = Webhook(secret).sign(msg_id, when, body.decode())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    return headers, body


def _hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, "sha256").hexdigest()


def greenhouse_delivery(
    secret: str, action: str, payload: dict[str, Any], *, event_id: str | None = None
) -> tuple[dict[str, str], bytes]:
    """Signed as Greenhouse signs: over the raw body, in which it escapes non-ASCII and `<>&`."""
    body = json.dumps({"action": action, "payload": payload}, ensure_ascii=True)
    body = body.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    raw = body.encode()
    return {
        "Signature": f"sha256 {_hex_hmac(secret, raw)}",
        "Greenhouse-Event-ID": event_id or str(uuid4()),
        "Content-Type": "application/json",
    }, raw


def greenhouse_application(
    application_id: int,
    candidate_id: int,
    job_id: int,
    *,
    stage: str = "Application Review",
    starts_at: str | None = None,
    last_activity_at: str = "2025-03-01T09:00:00Z",
) -> dict[str, Any]:
    """`payload` of a Greenhouse application action, as its webhooks document it."""
    return {
        "application": {
            "id": application_id,
            "status": "active",
            "prospect": False,
            "applied_at": "2025-02-01T08:00:00Z",
            "last_activity_at": last_activity_at,
            "url": f"https://app.greenhouse.io/people/{candidate_id}?application_id={application_id}",
            "current_stage": {"id": 771, "name": stage, "interviews": []},
            "candidate": {
                "id": candidate_id,
                "first_name": "Maria",
                "last_name": "Santos",
                "title": "Claims analyst",
                "company": "Acme <Health> & Co",
                "email_addresses": [{"value": "maria.santos@example.com", "type": "personal"}],
                "phone_numbers": [{"value": "+63 2 555 0101", "type": "mobile"}],
                "recruiter": {"id": 92120, "first_name": "Greenhouse", "last_name": "Admin"},
            },
            "jobs": [{"id": job_id, "name": "Senior claims analyst", "status": "open"}],
            "rejection_reason": None,
            "offer": {"id": 4141, "version": 1, "starts_at": starts_at, "custom_fields": {}},
        }
    }


def ashby_delivery(
    secret: str, action: str, data: dict[str, Any], *, action_id: str | None = None
) -> tuple[dict[str, str], bytes]:
    body = json.dumps(
        {"action": action, "webhookActionId": action_id or str(uuid4()), "data": data}
    ).encode()
    return {
        "Ashby-Signature": f"sha256={_hex_hmac(secret, body)}",
        "Content-Type": "application/json",
    }, body


def ashby_application(
    application_id: str,
    candidate_id: str,
    job_id: str,
    *,
    stage_type: str = "Active",
    updated_at: str = "2025-03-01T09:00:00.000Z",
) -> dict[str, Any]:
    """`data.application` of an Ashby webhook, as its payload reference documents it."""
    return {
        "id": application_id,
        "createdAt": "2025-02-01T08:00:00.000Z",
        "updatedAt": updated_at,
        "status": "Active",
        "candidate": {
            "id": candidate_id,
            "name": "Arjun Mehta",
            "primaryEmailAddress": {
                "value": "arjun@example.com",
                "type": "Personal",
                "isPrimary": True,
            },
        },
        "currentInterviewStage": {"id": str(uuid4()), "title": stage_type, "type": stage_type},
        "job": {"id": job_id, "title": "Platform engineer", "locationId": str(uuid4())},
        "source": {"id": str(uuid4()), "title": "LinkedIn"},
    }


async def every_item(
    client: httpx.AsyncClient, path: str, *, limit: int, **params: Any
) -> list[dict[str, Any]]:
    """Every item of a list, `limit` a page, following `next_cursor` to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_params = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=page_params)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        if (cursor := response.json()["next_cursor"]) is None:
            return items


async def hris_events_settled(
    client: httpx.AsyncClient, source_id: str, within: float = 10.0
) -> list[dict[str, Any]]:
    """Every event of the source, once none waits for the processor any more."""
    deadline = time.monotonic() + within
    while True:
        items = await every_item(client, f"/v1/hris/sources/{source_id}/events", limit=200)
        if all(item["status"] != "received" for item in items):
            return items
        assert time.monotonic() < deadline, "events still waiting for the processor"
        await asyncio.sleep(0.05)


def role(engagement_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "engagement_id": engagement_id,
        "title": "Claims analyst",
        "function": "Claims operations",
        "seniority": "mid",
        "location": "Manila",
        "salary_currency": "PHP",
        "salary_min": 600000,
        "salary_max": 900000,
        "responsibilities": ["Adjudicate health claims"],
        "success_criteria": ["98% adjudication accuracy"],
        **overrides,
    }


async def create_role(
    client: httpx.AsyncClient, engagement_id: str, **overrides: Any
) -> dict[str, Any]:
    response = await client.post("/v1/roles", json=role(engagement_id, **overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def open_requisition(
    client: httpx.AsyncClient, engagement_id: str, **overrides: Any
) -> dict[str, Any]:
    """A requisition for a role ready to hire for, opened: what tells kpi it opened."""
    role_id = (await create_role(client, engagement_id))["id"]
    body = {"engagement_id": engagement_id, "role_id": role_id, "headcount": 1, **overrides}
    response = await client.post("/v1/requisitions", json=body)
    assert response.status_code == 201, response.text
    opened = await client.post(
        f"/v1/requisitions/{response.json()['id']}/transitions", json={"status": "open"}
    )
    assert opened.status_code == 200, opened.text
    return dict(opened.json())


def data_point(engagement: Mapping[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "engagement_id": engagement["id"],
        "metric_key": "quality_score",
        "at": "2026-10-01T00:00:00Z",
        "value": 91.5,
        **overrides,
    }


async def send_points(client: httpx.AsyncClient, *points: Mapping[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/data-points", json={"points": list(points)})
    assert response.status_code == 200, response.text
    return dict(response.json())
