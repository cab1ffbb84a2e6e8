"""The baseline: the practical limit of FastAPI + asyncpg for each scenario's requests.

A route takes the same request as the service, authenticates its API key as the services do
(the key's SHA-256, looked up in memory), runs in one transaction the SQL the service runs
for it, as the service's own role and with the same tenancy (so row-level security applies),
and encodes the rows as JSON. Nothing else: no pool pre-ping, rate limit, scope check,
response models, middleware, logs or metrics.

Run by uvicorn, one process, as the services run:
    BASELINE_ENGAGEMENTS_DATABASE_URL=... uvicorn bench.baseline:create_app --factory
"""

import base64
import hashlib
import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypedDict
from uuid import UUID

import asyncpg
from fastapi import FastAPI, HTTPException, Query, Request, Response

Tenancy = tuple[str, str]
"""The values of handover.tenant and handover.all_tenants, as handover_kit.db sets them."""

# The statements the engagements service sends for these requests, read from PostgreSQL's
# statement log (its ORM qualifies each column with the table, to the same effect).
SET_TENANCY = (
    "SELECT set_config('handover.tenant', $1, true), set_config('handover.all_tenants', $2, true)"
)
COLUMNS = "id, name, client_id, partner_id, delivery_model, phase, created_at, updated_at"
GET_ENGAGEMENT = f"SELECT {COLUMNS} FROM engagements.engagements WHERE id = $1"  # noqa: S608 - constants
LIST_ENGAGEMENTS_IN_PHASE = (
    f"SELECT {COLUMNS} FROM engagements.engagements WHERE phase = $1 ORDER BY id LIMIT $2"  # noqa: S608 - constants
)
ACTIVE_API_KEYS = (
    "SELECT secret_sha256, organization_id FROM engagements.api_keys WHERE revoked_at IS NULL"
)
ALL_TENANTS: Tenancy = ("", "on")


class State(TypedDict):
    pool: Any  # asyncpg.Pool
    keys: Mapping[str, Tenancy]


async def _keep(_: object) -> None:
    """A connection goes back to the pool as it came: each transaction commits and sets its
    tenancy locally, so asyncpg's reset query would be one more round trip for nothing."""


async def _api_keys(pool: Any) -> dict[str, Tenancy]:
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(SET_TENANCY, *ALL_TENANTS)
        rows = await connection.fetch(ACTIVE_API_KEYS)
    return {
        row["secret_sha256"]: (str(row["organization_id"]), "")
        if row["organization_id"]
        else ALL_TENANTS
        for row in rows
    }


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[State]:
    size = int(os.environ["BASELINE_POOL_SIZE"])
    async with asyncpg.create_pool(
        os.environ["BASELINE_ENGAGEMENTS_DATABASE_URL"],
        min_size=size,
        max_size=size,
        reset=_keep,
        server_settings={"application_name": "baseline", "statement_timeout": "15000"},
    ) as pool:
        yield {"pool": pool, "keys": await _api_keys(pool)}


def _tenancy(request: Request) -> Tenancy:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    keys: Mapping[str, Tenancy] = request.state.keys
    tenancy = keys.get(hashlib.sha256(token.encode()).hexdigest())
    if scheme.lower() != "bearer" or tenancy is None:
        raise HTTPException(401)
    return tenancy


def _engagement(row: Any) -> dict[str, str]:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "client_id": str(row["client_id"]),
        "partner_id": str(row["partner_id"]),
        "delivery_model": row["delivery_model"],
        "phase": row["phase"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


def _json(body: object) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


def create_app() -> FastAPI:
    app = FastAPI(lifespan=lifespan, openapi_url=None)

    @app.get("/v1/engagements/{engagement_id}")
    async def get_engagement(engagement_id: UUID, request: Request) -> Response:
        tenancy = _tenancy(request)
        async with request.state.pool.acquire() as connection, connection.transaction():
            await connection.execute(SET_TENANCY, *tenancy)
            row = await connection.fetchrow(GET_ENGAGEMENT, engagement_id)
        if row is None:
            raise HTTPException(404)
        return _json(_engagement(row))

    @app.get("/v1/engagements")
    async def list_engagements(
        request: Request, phase: str, limit: Annotated[int, Query(ge=1, le=200)] = 50
    ) -> Response:
        tenancy = _tenancy(request)
        async with request.state.pool.acquire() as connection, connection.transaction():
            await connection.execute(SET_TENANCY, *tenancy)
            rows = await connection.fetch(LIST_ENGAGEMENTS_IN_PHASE, phase, limit + 1)
        cursor = (
            base64.urlsafe_b64encode(str(rows[limit - 1]["id"]).encode()).rstrip(b"=").decode()
            if len(rows) > limit
            else None
        )
        return _json({"items": [_engagement(row) for row in rows[:limit]], "next_cursor": cursor})

    return app
