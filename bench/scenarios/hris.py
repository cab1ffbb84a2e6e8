"""Signed HRIS webhook deliveries through the gateway (issue 6's benchmark).

A Standard Webhooks source of an engagement in build, with an open requisition naming the job
the events are about; each request is a new `application.created` event (its own webhook-id
and candidate), signed with the source's secret as the spec says. Talent verifies it, stores
the raw delivery and answers 202.

Talent's HRIS processor, which applies each stored delivery (a candidate and an application
on the requisition), is a deployment of its own in production. On the bench's two cores it
would take the CPU the webhook is measured on, so it is stopped while the load runs (on both
sides); the deliveries wait for it, as they would for a processor that is behind. Once the
load ends it applies them all, and how many there were, how long that took and how many it
applied per second are reported (`backlog_events`, `backlog_drain_s`, `applied_per_s`).

The baseline verifies the same signatures, reads the same canonical event with pydantic and
inserts the raw delivery into a table of the same shape as talent's, as talent's role, in one
transaction; nothing applies its rows.
"""

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from standardwebhooks import Webhook

from bench.scenario import LUA, BareApp, Context, Load, Rig, Scenario, Target
from bench.scenarios import api
from handover_tools.stack import HRIS_PROCESSOR

JOB_ID = "J-BENCH"
MAX_RATE = 4000
"""Deliveries per second that no side outruns on this hardware: each run gets that many
lines per second, so that no webhook-id is sent twice."""
# The baseline's table: talent's, copied as talent's role (bench/baseline.py writes to it).
BASELINE_TABLE = """
CREATE TABLE talent.baseline_hris_events (LIKE talent.hris_events INCLUDING ALL);
ALTER TABLE talent.baseline_hris_events
    ADD FOREIGN KEY (source_id) REFERENCES talent.hris_sources (id),
    ADD FOREIGN KEY (duplicate_of) REFERENCES talent.baseline_hris_events (id);
ALTER TABLE talent.baseline_hris_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE talent.baseline_hris_events FORCE ROW LEVEL SECURITY;
"""
# And talent's store of a delivery, made from its own definition (`pg_get_functiondef`) to write
# there.
STORE_FUNCTION = "SELECT pg_get_functiondef('talent.store_delivery'::regproc)"
WAITING = "SELECT count(*) FROM talent.hris_events WHERE status = 'received'"
DRAIN_TIMEOUT_SECONDS = 600
POLICIES = (
    "SELECT policyname, qual FROM pg_policies"
    " WHERE schemaname = 'talent' AND tablename = 'hris_events'"
)


@dataclass(frozen=True)
class Hris:
    source_id: UUID
    secret: str
    seconds: int
    """Warm-up and measured seconds together: how long each side sends deliveries."""


async def _baseline_table(database_dsn: str) -> None:
    connection = await asyncpg.connect(database_dsn)
    try:
        async with connection.transaction():
            await connection.execute("SET LOCAL ROLE talent")
            await connection.execute(BASELINE_TABLE)
            for policy in await connection.fetch(POLICIES):
                await connection.execute(
                    f'CREATE POLICY "{policy["policyname"]}" ON talent.baseline_hris_events'
                    f" USING ({policy['qual']})"
                )
            store: str = await connection.fetchval(STORE_FUNCTION)
            await connection.execute(
                store.replace("talent.store_delivery", "talent.baseline_store_delivery").replace(
                    "talent.hris_events", "talent.baseline_hris_events"
                )
            )
    finally:
        await connection.close()


async def setup(context: Context) -> Hris:
    async with api.admin(context) as http:
        engagement = await api.engagement(http, "HRIS benchmark")
        await api.open_requisition(http, engagement["id"], headcount=1000, external_job_id=JOB_ID)
        source = await api.created(
            http,
            "/v1/hris/sources",
            {"engagement_id": engagement["id"], "name": "benchmark", "vendor": "standard_webhooks"},
        )
    await _baseline_table(context.database_dsn)
    return Hris(UUID(source["id"]), source["secret"], context.load_seconds)


def _deliveries(data: Hris) -> Load:
    """Signed now, just before the load: every timestamp is well within the 5-minute tolerance
    while both sides send them, each to its own table."""
    signer = Webhook(data.secret)
    path = f"/v1/hris/sources/{data.source_id}/webhook"
    now = datetime.now(UTC).replace(microsecond=0)
    run = uuid.uuid4().hex[:12]
    lines = []
    for n in range(MAX_RATE * data.seconds):
        webhook_id = f"msg_{run}_{n}"
        body = json.dumps(
            {
                "type": "application.created",
                "timestamp": now.isoformat(),
                "data": {
                    "candidate": {"external_id": f"C-{run}-{n}"},
                    "application_id": f"A-{run}-{n}",
                    "job_id": JOB_ID,
                },
            },
            separators=(",", ":"),
        )
        lines.append(
            "\t".join(
                [
                    path,
                    f"webhook-id: {webhook_id}",
                    f"webhook-timestamp: {int(now.timestamp())}",
                    f"webhook-signature: {signer.sign(webhook_id, now, body)}",
                    "content-type: application/json",
                    body,
                ]
            )
        )
    return Load(LUA / "post.lua", "", lines, single_use=True)


def _settle(rig: Rig) -> dict[str, float]:
    """How many deliveries the load left to talent's processor, and how long it took to apply
    them all: `backlog_events`, `backlog_drain_s`, `applied_per_s`."""
    waiting, drained = asyncio.run(_drain(rig.database_dsn))
    extras = {"backlog_events": float(waiting), "backlog_drain_s": drained}
    if drained:
        extras["applied_per_s"] = waiting / drained
    return extras


async def _drain(database_dsn: str) -> tuple[int, float]:
    """Events waiting when called, and the seconds until none waits."""
    connection = await asyncpg.connect(database_dsn)
    try:
        started = time.monotonic()
        waiting: int = await connection.fetchval(WAITING)
        left = waiting
        while left and time.monotonic() - started < DRAIN_TIMEOUT_SECONDS:
            await asyncio.sleep(0.5)
            left = await connection.fetchval(WAITING)
        if left:
            raise RuntimeError(f"{left} HRIS events still wait after {DRAIN_TIMEOUT_SECONDS} s")
        return waiting, time.monotonic() - started
    finally:
        await connection.close()


WEBHOOK = Scenario(
    name="hris-webhook",
    title="HRIS webhook: a signed Standard Webhooks delivery, verified, stored, 202",
    setup=setup,
    load=_deliveries,
    target=Target(min_ratio=0.7),
    services=("talent",),
    baseline=BareApp(
        "bare app: verify, read, one INSERT into a copy of talent's table; same Caddy"
    ),
    held=(HRIS_PROCESSOR.name,),
    settle=_settle,
)

SCENARIOS = [WEBHOOK]
