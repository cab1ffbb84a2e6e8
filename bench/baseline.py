"""The baseline: the practical limit of FastAPI + asyncpg for each scenario's requests.

A route takes the same request as the service, authenticates it as the service does (an API
key's SHA-256 looked up in memory; a webhook's signature), runs in one transaction the SQL the
service runs for it, as the service's own role and with the same tenancy (so row-level
security applies; set with the BEGIN, as the services set it), and encodes the rows as JSON.
Nothing else: no rate limit, scope check, ORM, response models, middleware, logs or metrics.
A gate asks talent or kpi, as the engagements service does, over HTTP with the services'
client (httpx on aiohttp's pool): here the bare app asks another process of itself
(`BASELINE_PEER_URL`), whose bare talent or kpi route runs that service's statement, as that
service's role, unauthenticated.

Run by uvicorn, one process, as the services run:
    BASELINE_ENGAGEMENTS_DATABASE_URL=... BASELINE_PEER_URL=... \
        uvicorn bench.baseline:create_app --factory
"""

import base64
import hashlib
import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypedDict
from uuid import UUID

import asyncpg
import httpx
from cryptography.fernet import Fernet
from fastapi import FastAPI, HTTPException, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, TypeAdapter, ValidationError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from handover_engagements.engagements.models import Engagement
from handover_engagements.milestones.models import Milestone
from handover_engagements.milestones.schemas import SETTLED
from handover_kit.cli import frozen_after
from handover_kit.upstreams import AiohttpPool
from handover_kpi.scorecards.repository import _ACTIVE as ACTIVE_TARGETS
from handover_shared.engagements import Phase
from handover_shared.hiring_events import HiringEvent
from handover_shared.kpi import TRANSFER_READINESS_PATH
from handover_shared.talent import HIRING_PROGRESS_PATH
from handover_talent.members.repository import _EMPLOYED as EMPLOYED
from handover_talent.members.repository import _HIRING_COUNTS as HIRING_COUNTS
from handover_talent.members.repository import _UNFILLED as UNFILLED
from handover_talent.members.schemas import MemberStatus

Tenancy = tuple[str, str]
"""The values of handover.tenant and handover.all_tenants, as handover_kit.db sets them."""

SERVICES = ("engagements", "talent", "kpi")
# Sent with the BEGIN, in one round trip: the limit; the services (handover_kit.db) take two.
BEGIN_WITH_TENANCY = (
    "BEGIN; SELECT set_config('handover.tenant', {}, true),"
    " set_config('handover.all_tenants', {}, true)"
)
ALL_TENANTS: Tenancy = ("", "on")
ACTIVE_API_KEYS = (
    "SELECT secret_sha256, organization_id FROM engagements.api_keys WHERE revoked_at IS NULL"
)

# The statements the engagements service sends (its ORM selects every column of the model, and
# qualifies each with the table, to the same effect): taken from its models, so that a column
# added to the service is read here too.
ENGAGEMENT = ", ".join(Engagement.__table__.columns.keys())  # type: ignore[attr-defined]
GET_ENGAGEMENT = f"SELECT {ENGAGEMENT} FROM engagements.engagements WHERE id = $1"  # noqa: S608 - from the model
LIST_ENGAGEMENTS_IN_PHASE = (
    f"SELECT {ENGAGEMENT} FROM engagements.engagements WHERE phase = $1 ORDER BY id LIMIT $2"  # noqa: S608 - from the model
)
MILESTONE = ", ".join(Milestone.__table__.columns.keys())  # type: ignore[attr-defined]
UNFINISHED_MILESTONES = (
    f"SELECT {MILESTONE} FROM engagements.milestones"  # noqa: S608 - from the model
    " WHERE engagement_id = $1 AND phase = $2 AND NOT (status = ANY($3::text[])) ORDER BY id"
)
SETTLED_STATUSES = sorted(status.value for status in SETTLED)

# talent's store of a verified delivery, by talent's own function, made by the scenario's setup
# to write into a table of the same shape (its indexes, checks, foreign key and row-level
# security) that talent's processor never sees.
HRIS_SOURCES = (
    "SELECT id, secret_sealed, client_id, partner_id FROM talent.hris_sources"
    " WHERE vendor = 'standard_webhooks'"
)
STORE_DELIVERY = (
    "SELECT stored_id, original_id FROM talent.baseline_store_delivery("
    "$1, $2, $3, $4, 'webhook', $5, $6, $7, 'received', NULL, NULL, $8, $9)"
)
SIGNED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
AUDIT_HEADERS = ("webhook-id", "webhook-timestamp", "user-agent", "content-type")

# The best SQL for a monthly series: the natural-key index, grouped by month; asyncpg prepares
# it once per connection.
METRICS = "SELECT key, unit, aggregation FROM kpi.metrics"
SERIES_SUM = (
    "SELECT date_trunc($1, at, 'UTC') AS period_start, sum(value) AS value, count(*) AS count"
    " FROM kpi.data_points WHERE engagement_id = $2 AND metric_key = $3"
    " AND at >= $4 AND at < $5 GROUP BY 1 ORDER BY 1"
)


class Source(TypedDict):
    secret: Webhook
    client_id: UUID
    partner_id: UUID


class State(TypedDict):
    pools: Mapping[str, Any]  # asyncpg.Pool by service
    upstream: httpx.AsyncClient
    """Another process of the bare app, as its gates ask it."""
    keys: Mapping[str, Tenancy]
    sources: Mapping[UUID, Source]
    metrics: Mapping[str, tuple[str, str]]


class _Envelope(BaseModel):
    """Standard Webhooks' envelope around one canonical event, as talent reads it."""

    model_config = ConfigDict(extra="ignore")

    type: str
    timestamp: AwareDatetime
    data: dict[str, Any]


HIRING_EVENT: TypeAdapter[HiringEvent] = TypeAdapter(HiringEvent)


async def _keep(_: object) -> None:
    """A connection goes back to the pool as it came: each transaction commits and sets its
    tenancy locally, so asyncpg's reset query would be one more round trip for nothing."""


async def _json_codec(connection: Any) -> None:
    """JSON columns decoded, as the services' ORM decodes them."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _fetch(pool: Any, query: str) -> list[Any]:
    async with _transaction(pool, ALL_TENANTS) as connection:
        rows: list[Any] = await connection.fetch(query)
    return rows


async def _api_keys(pool: Any) -> dict[str, Tenancy]:
    return {
        row["secret_sha256"]: (str(row["organization_id"]), "")
        if row["organization_id"]
        else ALL_TENANTS
        for row in await _fetch(pool, ACTIVE_API_KEYS)
    }


async def _sources(pool: Any) -> dict[UUID, Source]:
    """Standard Webhooks sources and their secrets, opened once (talent opens them on every
    delivery)."""
    fernet = Fernet(os.environ["BASELINE_HRIS_SECRETS_KEY"])
    return {
        row["id"]: {
            "secret": Webhook(fernet.decrypt(row["secret_sealed"].encode()).decode()),
            "client_id": row["client_id"],
            "partner_id": row["partner_id"],
        }
        for row in await _fetch(pool, HRIS_SOURCES)
    }


def _pool_size(service: str) -> int:
    """As many connections as the service's server holds."""
    return int(os.environ[f"BASELINE_{service.upper()}_POOL_SIZE"])


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[State]:
    async with AsyncExitStack() as stack:
        pools = {
            service: await stack.enter_async_context(
                asyncpg.create_pool(
                    os.environ[f"BASELINE_{service.upper()}_DATABASE_URL"],
                    min_size=_pool_size(service),
                    max_size=_pool_size(service),
                    reset=_keep,
                    init=_json_codec,
                    server_settings={"application_name": "baseline", "statement_timeout": "15000"},
                )
            )
            for service in SERVICES
        }
        metrics = {
            row["key"]: (row["unit"], row["aggregation"])
            for row in await _fetch(pools["kpi"], METRICS)
        }
        upstream = await stack.enter_async_context(
            httpx.AsyncClient(base_url=os.environ["BASELINE_PEER_URL"], transport=AiohttpPool())
        )
        yield {
            "pools": pools,
            "upstream": upstream,
            "keys": await _api_keys(pools["engagements"]),
            "sources": await _sources(pools["talent"]),
            "metrics": metrics,
        }


def _tenancy(request: Request) -> Tenancy:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    keys: Mapping[str, Tenancy] = request.state.keys
    tenancy = keys.get(hashlib.sha256(token.encode()).hexdigest())
    if scheme.lower() != "bearer" or tenancy is None:
        raise HTTPException(401)
    return tenancy


@asynccontextmanager
async def _transaction(pool: Any, tenancy: Tenancy) -> AsyncIterator[Any]:
    """A connection of `pool` in a transaction with `tenancy` set: BEGIN and the tenancy in
    one round trip, then the statements, then COMMIT."""
    async with pool.acquire() as connection:
        await connection.execute(BEGIN_WITH_TENANCY.format(*map(_literal, tenancy)))
        try:
            yield connection
        except BaseException:
            await connection.execute("ROLLBACK")
            raise
        await connection.execute("COMMIT")


def _literal(value: str) -> str:
    """A tenancy's value (a UUID's text, or a fixed word) as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _as(request: Request, service: str, tenancy: Tenancy) -> Any:
    """A transaction as `service`'s role, with `tenancy`."""
    return _transaction(request.state.pools[service], tenancy)


def _plain(value: object) -> object:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):  # an aggregate's array
        return [_plain(item) for item in value]
    return value


def _row(row: Any) -> dict[str, object]:
    return {name: _plain(value) for name, value in row.items()}


def _json(body: object, status_code: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status_code,
        media_type="application/json",
    )


def _engagement_routes(app: FastAPI) -> None:
    @app.get("/v1/engagements/{engagement_id}")
    async def get_engagement(engagement_id: UUID, request: Request) -> Response:
        tenancy = _tenancy(request)
        async with _as(request, "engagements", tenancy) as connection:
            row = await connection.fetchrow(GET_ENGAGEMENT, engagement_id)
        if row is None:
            raise HTTPException(404)
        return _json(_row(row))

    @app.get("/v1/engagements")
    async def list_engagements(
        request: Request, phase: str, limit: Annotated[int, Query(ge=1, le=200)] = 50
    ) -> Response:
        tenancy = _tenancy(request)
        async with _as(request, "engagements", tenancy) as connection:
            rows = await connection.fetch(LIST_ENGAGEMENTS_IN_PHASE, phase, limit + 1)
        cursor = (
            base64.urlsafe_b64encode(str(rows[limit - 1]["id"]).encode()).rstrip(b"=").decode()
            if len(rows) > limit
            else None
        )
        return _json({"items": [_row(row) for row in rows[:limit]], "next_cursor": cursor})

    @app.get("/v1/engagements/{engagement_id}/gates/{to_phase}")
    async def check_gate(engagement_id: UUID, to_phase: Phase, request: Request) -> Response:
        """The engagements service's own reads for a gate (the engagement; for leaving build,
        its unfinished build milestones), then what the scenario's gates ask of another
        service: leaving build, talent's hiring progress; else kpi's transfer readiness."""
        tenancy = _tenancy(request)
        async with _as(request, "engagements", tenancy) as connection:
            row = await connection.fetchrow(GET_ENGAGEMENT, engagement_id)
            if row is None:
                raise HTTPException(404)
            building = row["phase"] == Phase.BUILD
            unfinished = (
                await connection.fetch(
                    UNFINISHED_MILESTONES, engagement_id, Phase.BUILD.value, SETTLED_STATUSES
                )
                if building
                else []
            )
        asked = (HIRING_PROGRESS_PATH if building else TRANSFER_READINESS_PATH).format(
            engagement_id=engagement_id
        )
        answer = await request.state.upstream.get(asked)
        if answer.status_code != httpx.codes.OK:
            raise HTTPException(503)
        return _json(
            {
                "engagement_id": str(engagement_id),
                "from_phase": row["phase"],
                "to_phase": to_phase.value,
                "criteria": [_row(milestone) for milestone in unfinished],
                "asked": answer.json(),
            }
        )


def _internal_routes(app: FastAPI) -> None:
    """What talent and kpi answer a gate, each as its own role and seeing every tenant, as
    they answer another service."""

    @app.get(HIRING_PROGRESS_PATH)
    async def hiring_progress(engagement_id: UUID, request: Request) -> Response:
        async with _as(request, "talent", ALL_TENANTS) as connection:
            row = await connection.fetchrow(
                HIRING_COUNTS, engagement_id, EMPLOYED, UNFILLED, MemberStatus.REVERSED.value
            )
        active_members, open_requisitions, unfilled_positions = (int(value) for value in row)
        return _json(
            {
                "engagement_id": str(engagement_id),
                "active_members": active_members,
                "open_requisitions": open_requisitions,
                "unfilled_positions": unfilled_positions,
            }
        )

    @app.get(TRANSFER_READINESS_PATH)
    async def transfer_readiness(engagement_id: UUID, request: Request) -> Response:
        at = datetime.now(UTC)
        async with _as(request, "kpi", ALL_TENANTS) as connection:
            rows = await connection.fetch(ACTIVE_TARGETS, engagement_id, at, 2)
        return _json(
            {
                "engagement_id": str(engagement_id),
                "evaluated_at": at.isoformat(),
                "metrics": [_row(row) for row in rows],
            }
        )


def _hris_routes(app: FastAPI) -> None:
    @app.post("/v1/hris/sources/{source_id}/webhook")
    async def receive_delivery(source_id: UUID, request: Request) -> Response:
        source: Source | None = request.state.sources.get(source_id)
        if source is None:
            raise HTTPException(404)
        body = await request.body()
        headers = {name: request.headers.get(name, "") for name in SIGNED_HEADERS}
        try:
            source["secret"].verify(body, headers, json_parse=False)
        except (WebhookVerificationError, ValueError, UnicodeDecodeError):
            raise HTTPException(401) from None
        event_id = headers["webhook-id"]
        try:
            envelope = _Envelope.model_validate_json(body)
            event = HIRING_EVENT.validate_python(
                {
                    "occurred_at": envelope.timestamp,
                    **envelope.data,
                    "kind": envelope.type,
                    "event_id": event_id,
                }
            )
        except ValidationError:
            raise HTTPException(400) from None
        audit = {name: request.headers[name] for name in AUDIT_HEADERS if name in request.headers}
        # One statement, a transaction of its own that sets its own tenancy, as talent's.
        async with request.state.pools["talent"].acquire() as connection:
            stored, original = await connection.fetchrow(
                STORE_DELIVERY,
                source_id,
                source["client_id"],
                source["partner_id"],
                event_id,
                envelope.type,
                event.kind,
                event.candidate.external_id,
                audit,
                body,
            )
        if original is not None:
            return _json({"event_id": event_id, "status": "duplicate"})
        return _json({"id": str(stored), "event_id": event_id, "status": "received"}, 202)


def _kpi_routes(app: FastAPI) -> None:
    @app.get("/v1/series")
    async def read_series(
        request: Request,
        metric_key: str,
        engagement_id: UUID,
        at_from: Annotated[datetime, Query(alias="from")],
        at_to: Annotated[datetime, Query(alias="to")],
        granularity: str = "month",
    ) -> Response:
        """One engagement and metric of a metric that sums: the scenario's request."""
        tenancy = _tenancy(request)
        unit, aggregation = request.state.metrics.get(metric_key, ("", ""))
        if aggregation != "sum":
            raise HTTPException(422)
        async with _as(request, "kpi", tenancy) as connection:
            rows = await connection.fetch(
                SERIES_SUM, granularity, engagement_id, metric_key, at_from, at_to
            )
        points = [_row(row) for row in rows]
        series = [
            {
                "engagement_id": str(engagement_id),
                "metric_key": metric_key,
                "unit": unit,
                "aggregation": aggregation,
                "points": points,
            }
        ]
        return _json({"granularity": granularity, "series": series if points else []})


def _app() -> FastAPI:
    app = FastAPI(lifespan=lifespan, openapi_url=None)
    _engagement_routes(app)
    _internal_routes(app)
    _hris_routes(app)
    _kpi_routes(app)
    return app


# What it has made by then frozen out of the garbage collector's reach, as the services' `serve`
# does.
create_app = frozen_after(_app)
