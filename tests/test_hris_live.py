"""HRIS ingestion as real processes behind the real gateway: the talent service is killed while
signed deliveries arrive and wait to be applied, and started again.

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
from handover_tools.stack import Ports, Stack
from tests import builders
from tests.conftest import free_port_block
from tests.sql import fetch

pytestmark = pytest.mark.live

# Not `handover`: the session's `live` stack may run on the same server.
HRIS_DATABASE = "handover_hris_live"
CANDIDATES = 60
PUSHERS = 8
JOB = 7001
COUNTS = (
    "SELECT count(*) FILTER (WHERE status = 'applied') AS applied,"
    " count(*) FILTER (WHERE status = 'received') AS waiting"
    " FROM talent.hris_events WHERE source_id = $1"
)


@pytest.fixture(scope="module")
def hris_stack(pg_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    asyncio.run(drop_database(pg_server, HRIS_DATABASE))
    stack = Stack(
        pg_server,
        tmp_path_factory.mktemp("hris"),
        Ports.from_gateway(free_port_block(4)),
        env={"TALENT_RATE_LIMIT": "1000000/minute", "ENGAGEMENTS_RATE_LIMIT": "1000000/minute"},
        database=HRIS_DATABASE,
    )
    try:
        yield stack.start()
    finally:
        stack.stop()
        asyncio.run(drop_database(pg_server, HRIS_DATABASE))


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


async def test_a_service_killed_mid_batch_applies_every_accepted_event_exactly_once_after_restart(
    hris_stack: Stack,
) -> None:
    stack = hris_stack
    url = stack.server.database_url(stack.database)
    admin_headers = {"Authorization": f"Bearer {stack.admin_key}"}
    async with (
        httpx.AsyncClient(base_url=stack.gateway_url, headers=admin_headers, timeout=30) as admin,
        httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as vendor,
    ):
        engagement = await builders.create_engagement(admin)
        requisition = await admin.post(
            "/v1/requisitions",
            json={
                "engagement_id": engagement["id"],
                "title": "Claims analyst",
                "headcount": CANDIDATES,
                "external_job_id": str(JOB),
            },
        )
        assert requisition.status_code == 201, requisition.text
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
            stack.pause_service("talent")  # frozen mid-work: what is applied cannot change
            ((applied, waiting),) = await fetch(url, COUNTS, source["id"])
            stack.kill_service("talent")
            await asyncio.sleep(0.5)
            await asyncio.to_thread(stack.start_service, "talent")
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
                params={"requisition_id": requisition.json()["id"], "limit": 200},
            )
        ).json()["items"]
        assert len(applications) == CANDIDATES
        assert {a["stage"] for a in applications} == {"screening"}
        histories = [
            (await admin.get(f"/v1/applications/{a['id']}")).json()["history"] for a in applications
        ]
        assert [len(history) for history in histories] == [2] * CANDIDATES


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
