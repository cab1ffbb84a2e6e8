"""Reading engagements through the gateway, as a partner's API key.

The data: 20 partners and 200 clients with 10,000 engagements between them, 600 of them the
benchmark partner's, in every phase. Rows are loaded with COPY (the API has no way to move an
engagement out of `build` yet, and setup time is not what is measured); the API key is made
through the API.
"""

import random
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from bench.scenario import LUA, Context, Load, Scenario, Target
from handover_shared.auth import Scope
from handover_shared.engagements import DeliveryModel, Phase

CLIENTS = 200
PARTNERS = 20
ENGAGEMENTS = 10_000
OURS = 600
PHASE_WEIGHTS = {
    Phase.BUILD: 20,
    Phase.OPERATE: 45,
    Phase.TRANSFER: 10,
    Phase.TRANSFERRED: 15,
    Phase.MANAGED: 5,
    Phase.TERMINATED: 5,
}
LISTED_PHASE = Phase.OPERATE  # about 270 of ours: a full page, and more after it
PAGE = 50
SEED = 9
ORGANIZATIONS_OF_KIND = "SELECT id FROM engagements.organizations WHERE kind = $1 ORDER BY id"
ENGAGEMENTS_OF_PARTNER = "SELECT id FROM engagements.engagements WHERE partner_id = $1"


@dataclass(frozen=True)
class Engagements:
    token: str
    """An API key of the benchmark partner, with `engagements:read`."""
    ids: list[UUID]
    """That partner's engagements."""


def _engagement_rows(
    rng: random.Random, clients: list[UUID], partners: list[UUID]
) -> list[tuple[object, ...]]:
    ours, others = partners[0], partners[1:]
    phases = rng.choices(list(PHASE_WEIGHTS), weights=list(PHASE_WEIGHTS.values()), k=ENGAGEMENTS)
    rows: list[tuple[object, ...]] = [
        (
            f"Engagement {n:05d}",
            rng.choice(clients),
            ours if n < OURS else rng.choice(others),
            rng.choice(list(DeliveryModel)).value,
            phase.value,
        )
        for n, phase in enumerate(phases)
    ]
    rng.shuffle(rows)  # ids follow insertion order: ours are spread through the table
    return rows


async def _ids(connection: Any, query: str, *args: object) -> list[UUID]:
    return [row["id"] for row in await connection.fetch(query, *args)]


async def _load(database_dsn: str) -> tuple[UUID, list[UUID]]:
    """The organizations and engagements; returns the benchmark partner and its engagements."""
    rng = random.Random(SEED)  # noqa: S311 - made-up data, the same in every run
    connection = await asyncpg.connect(database_dsn)
    try:
        async with connection.transaction():
            await connection.copy_records_to_table(
                "organizations",
                schema_name="engagements",
                columns=["name", "kind"],
                records=[(f"Client {n}", "client") for n in range(CLIENTS)]
                + [(f"Partner {n}", "partner") for n in range(PARTNERS)],
            )
            clients = await _ids(connection, ORGANIZATIONS_OF_KIND, "client")
            partners = await _ids(connection, ORGANIZATIONS_OF_KIND, "partner")
            await connection.copy_records_to_table(
                "engagements",
                schema_name="engagements",
                columns=["name", "client_id", "partner_id", "delivery_model", "phase"],
                records=_engagement_rows(rng, clients, partners),
            )
        # As autovacuum would have by now: the planner sees the tables as they are.
        await connection.execute("ANALYZE engagements.organizations, engagements.engagements")
        return partners[0], await _ids(connection, ENGAGEMENTS_OF_PARTNER, partners[0])
    finally:
        await connection.close()


async def setup(context: Context) -> Engagements:
    partner, ids = await _load(context.database_dsn)
    async with httpx.AsyncClient(base_url=context.gateway_url, timeout=10) as http:
        created = await http.post(
            "/v1/api-keys",
            json={
                "name": "benchmark",
                "scopes": [Scope.ENGAGEMENTS_READ],
                "organization_id": str(partner),
            },
            headers={"Authorization": f"Bearer {context.admin_key}"},
        )
        created.raise_for_status()
        token: str = created.json()["key"]
        # The key works before any load is sent, and the directory holds it.
        answer = await http.get(
            f"/v1/engagements/{ids[0]}", headers={"Authorization": f"Bearer {token}"}
        )
        answer.raise_for_status()
    return Engagements(token, ids)


GET_BY_ID = Scenario(
    name="engagement-get",
    title="GET one engagement by id",
    setup=setup,
    load=lambda data: Load(
        LUA / "get.lua", data.token, [f"/v1/engagements/{id_}" for id_ in data.ids]
    ),
    target=Target(min_ratio=0.6, max_p99_ratio=2.0),
    services=("engagements",),
)

FILTERED_LIST = Scenario(
    name="engagement-list",
    title=f"list engagements, phase filter, page of {PAGE}",
    setup=setup,
    load=lambda data: Load(
        LUA / "get.lua", data.token, [f"/v1/engagements?phase={LISTED_PHASE}&limit={PAGE}"]
    ),
    target=Target(min_ratio=0.5),
    services=("engagements",),
)

SCENARIOS = [GET_BY_ID, FILTERED_LIST]
