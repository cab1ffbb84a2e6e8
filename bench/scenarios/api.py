"""Setting up through the running system's API, as its administrator: what several scenarios'
setups make the same way."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import httpx

from bench.scenario import Context
from handover_shared.auth import Scope

KEY_WAIT_SECONDS = 5.0


@asynccontextmanager
async def admin(context: Context) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway, as the platform's administrator."""
    headers = {"Authorization": f"Bearer {context.admin_key}"}
    async with httpx.AsyncClient(base_url=context.gateway_url, timeout=30, headers=headers) as http:
        yield http


async def created(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST `body` to `path`; the answer, which must be a success."""
    response = await http.post(path, json=body)
    response.raise_for_status()
    return dict(response.json())


async def engagement(http: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    """A BOT engagement, in build, of a client and a partner of its own."""
    suffix = f"{time.time_ns()}"
    client = await created(
        http, "/v1/organizations", {"name": f"{name} client {suffix}", "kind": "client"}
    )
    partner = await created(
        http, "/v1/organizations", {"name": f"{name} partner {suffix}", "kind": "partner"}
    )
    return await created(
        http,
        "/v1/engagements",
        {
            "name": name,
            "client_id": client["id"],
            "partner_id": partner["id"],
            "delivery_model": "bot",
            **fields,
        },
    )


async def open_requisition(
    http: httpx.AsyncClient, engagement_id: str, headcount: int, **fields: Any
) -> dict[str, Any]:
    """A requisition of `headcount` for a role ready to hire for, opened."""
    role = await created(
        http,
        "/v1/roles",
        {
            "engagement_id": engagement_id,
            "title": "Claims analyst",
            "function": "Claims operations",
            "seniority": "mid",
            "location": "Manila",
            "responsibilities": ["Adjudicate health claims"],
            "success_criteria": ["98% adjudication accuracy"],
        },
    )
    requisition = await created(
        http,
        "/v1/requisitions",
        {"engagement_id": engagement_id, "role_id": role["id"], "headcount": headcount, **fields},
    )
    return await created(
        http, f"/v1/requisitions/{requisition['id']}/transitions", {"status": "open"}
    )


async def api_key(
    http: httpx.AsyncClient, name: str, scopes: list[Scope], organization_id: object
) -> str:
    """An API key of `organization_id` with `scopes`: the bearer of a scenario's load."""
    key = await created(
        http,
        "/v1/api-keys",
        {"name": name, "scopes": scopes, "organization_id": str(organization_id)},
    )
    return str(key["key"])


async def check_key(http: httpx.AsyncClient, token: str, path: str) -> None:
    """GET `path` as `token` until it answers: a service learns of a new key when it next
    reloads its directory (at most once a second on a miss), so the first try may be refused.
    The load starts only once the key works."""
    deadline = time.monotonic() + KEY_WAIT_SECONDS
    while True:
        answer = await http.get(path, headers={"Authorization": f"Bearer {token}"})
        if answer.status_code != HTTPStatus.UNAUTHORIZED or time.monotonic() > deadline:
            answer.raise_for_status()
            return
        await asyncio.sleep(0.2)
