"""Request bodies with sensible defaults: a test names only what it is about."""

from typing import Any
from uuid import uuid4

import httpx


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
