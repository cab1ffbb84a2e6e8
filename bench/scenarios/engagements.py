"""Reading engagements through the gateway, as a partner's API key.

The data: 20 partners and 200 clients with 10,000 engagements between them, 600 of them the
benchmark partner's, in every phase, each of a delivery model that reaches its phase. Rows are
loaded with COPY (moving 10,000 engagements through their gates one by one is not what is
measured), with what the API would have given them (the model's moves, the phase's owner,
when the phase started; the rest at the schema's defaults); the API key is made through the
API.
"""

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from bench.scenario import LUA, Context, Load, Scenario, Target
from bench.scenarios import api
from handover_engagements.engagements.lifecycle import moves_of, owner_in
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
STARTED = date(2025, 1, 1)
ENGAGEMENT_COLUMNS = [
    "name",
    "client_id",
    "partner_id",
    "delivery_model",
    "phase",
    "owner",
    "transitions",
    "actual_phases",
]
ORGANIZATIONS_OF_KIND = "SELECT id FROM engagements.organizations WHERE kind = $1 ORDER BY id"
ENGAGEMENTS_OF_PARTNER = "SELECT id FROM engagements.engagements WHERE partner_id = $1"


@dataclass(frozen=True)
class Engagements:
    token: str
    """An API key of the benchmark partner, with `engagements:read`."""
    ids: list[UUID]
    """That partner's engagements."""


def _models_reaching(phase: Phase) -> list[DeliveryModel]:
    return [
        model
        for model in DeliveryModel
        if phase in (Phase.BUILD, Phase.TERMINATED)
        or any(target == phase for _, target in moves_of(model))
    ]


def _engagement_row(
    n: int, phase: Phase, model: DeliveryModel, client: UUID, partner: UUID
) -> tuple[object, ...]:
    """As the API and migration 0005 leave an engagement: its model's moves, the owner of its
    phase, and the day its phase started."""
    moves = sorted([source.value, target.value] for source, target in moves_of(model))
    started = (STARTED + timedelta(days=n % 365)).isoformat()
    return (
        f"Engagement {n:05d}",
        client,
        partner,
        model.value,
        phase.value,
        owner_in(phase).value,
        json.dumps(moves),
        json.dumps({phase.value: {"start": started, "end": None}}),
    )


def _engagement_rows(
    rng: random.Random, clients: list[UUID], partners: list[UUID]
) -> list[tuple[object, ...]]:
    ours, others = partners[0], partners[1:]
    phases = rng.choices(list(PHASE_WEIGHTS), weights=list(PHASE_WEIGHTS.values()), k=ENGAGEMENTS)
    rows = [
        _engagement_row(
            n,
            phase,
            rng.choice(_models_reaching(phase)),
            rng.choice(clients),
            ours if n < OURS else rng.choice(others),
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
                columns=ENGAGEMENT_COLUMNS,
                records=_engagement_rows(rng, clients, partners),
            )
        # As autovacuum would have by now: the planner sees the tables as they are.
        await connection.execute("ANALYZE engagements.organizations, engagements.engagements")
        return partners[0], await _ids(connection, ENGAGEMENTS_OF_PARTNER, partners[0])
    finally:
        await connection.close()


async def setup(context: Context) -> Engagements:
    partner, ids = await _load(context.database_dsn)
    async with api.admin(context) as http:
        token = await api.api_key(http, "benchmark", [Scope.ENGAGEMENTS_READ], partner)
        await api.check_key(http, token, f"/v1/engagements/{ids[0]}")
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
