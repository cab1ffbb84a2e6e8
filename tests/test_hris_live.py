"""HRIS ingestion as real processes behind the real gateway, with talent's server applying the
events itself (as in development) and with `process-hris-events` applying them apart (as in
production): the process that applies is killed while signed deliveries arrive and wait to be
applied, and started again.

What the kill may not break: every delivery acknowledged (202, or 200 for a redelivery) is
applied exactly once after the restart; one refused because the service was down is sent
again by its vendor, and then applied once too.
"""

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from handover_tools.postgres import Server, drop_database
from handover_tools.stack import HRIS_PROCESSOR, Ports, Stack
from tests import builders
from tests.conftest import free_port_block
from tests.sql import fetch

pytestmark = pytest.mark.live

# Not `handover`: the session's `live` stack may run on the same server.
HRIS_DATABASE = "handover_hris_live"
# Far beyond the waits below: a fact the processor writes reaches kpi promptly only if its
# commit's NOTIFY wakes the server's relay, and a delivery is applied promptly only if the
# server wakes the processor.
RELAY_POLL_SECONDS = 120
PROCESSOR_POLL_SECONDS = 120
CANDIDATES = 60
PUSHERS = 8
JOB = 7001
COUNTS = (
    "SELECT count(*) FILTER (WHERE status = 'applied') AS applied,"
    " count(*) FILTER (WHERE status = 'received') AS waiting"
    " FROM talent.hris_events WHERE source_id = $1"
)
OFFER_FACTS = (
    "SELECT count(*) FILTER (WHERE delivered_at IS NULL), count(*)"
    " FROM talent.outbox WHERE message_type = 'talent.offer_made'"
)


@pytest.fixture(scope="module", params=["inline", "apart"])
def hris_stack(
    request: pytest.FixtureRequest, pg_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    database = f"{HRIS_DATABASE}_{request.param}"
    asyncio.run(drop_database(pg_server, database))
    stack = Stack(
        pg_server,
        tmp_path_factory.mktemp(f"hris-{request.param}"),
        Ports.from_gateway(free_port_block(4)),
        env={
            "TALENT_RATE_LIMIT": "1000000/minute",
            "ENGAGEMENTS_RATE_LIMIT": "1000000/minute",
            "TALENT_OUTBOX_POLL_SECONDS": str(RELAY_POLL_SECONDS),
            "TALENT_HRIS_POLL_SECONDS": str(PROCESSOR_POLL_SECONDS),
        },
        database=database,
        workers=[HRIS_PROCESSOR] if request.param == "apart" else [],
    )
    try:
        yield stack.start()
    finally:
        stack.stop()
        asyncio.run(drop_database(pg_server, database))


def _applying(stack: Stack) -> str:
    """The process that applies HRIS events."""
    return HRIS_PROCESSOR.name if HRIS_PROCESSOR.name in stack.workers else "talent"


def _deliveries(secret: str) -> list[tuple[dict[str, str], bytes]]:
    """Each candidate applies, then moves to a phone screen: two events apiece."""
    deliveries = []
    for n in range(CANDIDATES):
        for action, stage, minute in (
            ("new_candidate_application", "Application Review", 1),
            ("candidate_stage_change", "Phone Screen", 2),
        ):
            payload = builders.greenhouse_application(
                10_000 + n,
                20_000 + n,
                JOB,
                stage=stage,
                last_activity_at=f"2025-03-01T09:0{minute}:00Z",
            )
            deliveries.append(builders.greenhouse_delivery(secret, action, payload))
    return deliveries


async def _open_requisition(
    admin: httpx.AsyncClient, headcount: int, job: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An engagement, and its open requisition for `job`."""
    engagement = await builders.create_engagement(admin)
    requisition = await admin.post(
        "/v1/requisitions",
        json={
            "engagement_id": engagement["id"],
            "title": "Claims analyst",
            "headcount": headcount,
            "external_job_id": str(job),
        },
    )
    assert requisition.status_code == 201, requisition.text
    return engagement, requisition.json()


async def test_a_processor_killed_mid_batch_applies_every_accepted_event_exactly_once_after_restart(
    hris_stack: Stack,
) -> None:
    stack = hris_stack
    applying = _applying(stack)
    url = stack.server.database_url(stack.database)
    admin_headers = {"Authorization": f"Bearer {stack.admin_key}"}
    async with (
        httpx.AsyncClient(base_url=stack.gateway_url, headers=admin_headers, timeout=30) as admin,
        httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as vendor,
    ):
        engagement, requisition = await _open_requisition(admin, CANDIDATES, JOB)
        source = await builders.create_hris_source(admin, engagement["id"], "greenhouse")
        deliveries = _deliveries(source["secret"])
        acknowledged: set[int] = set()

        async def deliver(index: int) -> None:
            headers, body = deliveries[index]
            try:
                response = await vendor.post(source["webhook_path"], content=body, headers=headers)
            except httpx.TransportError:
                return  # the vendor sees no answer, and retries later
            if response.status_code in {200, 202}:
                acknowledged.add(index)

        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(len(deliveries)):
            queue.put_nowait(index)

        async def pusher() -> None:
            while not queue.empty():
                await deliver(queue.get_nowait())

        async def kill_mid_batch() -> tuple[int, int]:
            deadline = time.monotonic() + 30
            while True:
                ((applied, waiting),) = await fetch(url, COUNTS, source["id"])
                if applied >= 10:
                    break
                assert time.monotonic() < deadline, "the processor applied nothing"
                await asyncio.sleep(0.01)
            stack.pause_service(applying)  # frozen mid-work: what is applied cannot change
            ((applied, waiting),) = await fetch(url, COUNTS, source["id"])
            stack.kill_service(applying)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(stack.start_service, applying)
            return applied, waiting

        pushing = [asyncio.create_task(pusher()) for _ in range(PUSHERS)]
        applied_at_kill, waiting_at_kill = await kill_mid_batch()
        await asyncio.gather(*pushing)
        assert waiting_at_kill > 0, "the kill came after the work, not in the middle of it"
        assert applied_at_kill < len(deliveries)

        # Vendors retry what got no answer; a retry of what was accepted is only a duplicate.
        for index in range(len(deliveries)):
            await deliver(index)
        assert acknowledged == set(range(len(deliveries)))

        events = await _settled(url, source["id"])
        originals = [e for e in events if e["duplicate_of"] is None]
        assert len(originals) == len(deliveries)
        assert {e["status"] for e in originals} == {"applied"}
        assert {e["status"] for e in events if e["duplicate_of"] is not None} <= {"duplicate"}

        applications = (
            await admin.get(
                "/v1/applications",
                params={"requisition_id": requisition["id"], "limit": 200},
            )
        ).json()["items"]
        assert len(applications) == CANDIDATES
        assert {a["stage"] for a in applications} == {"screening"}
        histories = [
            (await admin.get(f"/v1/applications/{a['id']}")).json()["history"] for a in applications
        ]
        assert [len(history) for history in histories] == [2] * CANDIDATES


@pytest.mark.parametrize("hris_stack", ["apart"], indirect=True)
async def test_a_server_leaves_events_to_the_processor_whose_facts_reach_kpi_at_once(
    hris_stack: Stack,
) -> None:
    stack = hris_stack
    url = stack.server.database_url(stack.database)
    admin_headers = {"Authorization": f"Bearer {stack.admin_key}"}
    job, application, candidate = JOB + 1, 30_001, 40_001
    async with (
        httpx.AsyncClient(base_url=stack.gateway_url, headers=admin_headers, timeout=30) as admin,
        httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as vendor,
    ):
        engagement, _ = await _open_requisition(admin, 1, job)
        source = await builders.create_hris_source(admin, engagement["id"], "greenhouse")
        offer = {
            "id": 4141,
            "application_id": application,
            "job_id": job,
            "candidate_id": candidate,
            "version": 1,
            "start_date": "2025-04-01",
            "offer_status": "Created",
            "created_at": "2025-03-01T09:02:00Z",
        }
        story = [
            builders.greenhouse_delivery(
                source["secret"],
                "new_candidate_application",
                builders.greenhouse_application(application, candidate, job),
            ),
            builders.greenhouse_delivery(source["secret"], "offer_created", offer),
        ]

        stack.stop_service(HRIS_PROCESSOR.name)
        for headers, body in story:
            response = await vendor.post(source["webhook_path"], content=body, headers=headers)
            assert response.status_code == 202, response.text
        await asyncio.sleep(2)  # a server that applied would have been woken at once
        ((applied, waiting),) = await fetch(url, COUNTS, source["id"])
        assert (applied, waiting) == (0, len(story))

        since = time.monotonic()
        await asyncio.to_thread(stack.start_service, HRIS_PROCESSOR.name)
        events = await _settled(url, source["id"])
        assert [e["status"] for e in events] == ["applied"] * len(story)
        # The offer's fact, written by the processor's process, is delivered by the server's
        # relay long before the relay would have polled.
        while True:
            [(undelivered, offers)] = await fetch(url, OFFER_FACTS)
            if offers and not undelivered:
                break
            assert time.monotonic() - since < RELAY_POLL_SECONDS / 4, "the relay was not woken"
            await asyncio.sleep(0.1)


async def _settled(url: Any, source_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        rows = await fetch(
            url,
            "SELECT status, duplicate_of FROM talent.hris_events WHERE source_id = $1",
            source_id,
        )
        if all(row["status"] != "received" for row in rows):
            return [dict(row) for row in rows]
        assert time.monotonic() < deadline, "events still waiting after the restart"
        await asyncio.sleep(0.1)
