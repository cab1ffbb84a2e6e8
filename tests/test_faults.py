"""The system under faults, as real processes: a receiver that is down, a sender killed after
committing, PostgreSQL stopped under load, and an upstream that hangs or fails.

What no fault may break:
- a fact committed with its change reaches its receiver exactly once, however long the
  receiver is away and whether or not the sender dies before telling it;
- while PostgreSQL is away, the services say they are not ready and answer writes with a 503
  problem within a bound; when it is back they recover without a restart, and every write they
  accepted is kept and told;
- when engagements hangs or fails, talent's gate answers 503 naming it, within its deadline.

The services run with short retry intervals (`FAST`), so that each fault plays out in seconds.
"""

import asyncio
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.engine import URL

from handover_shared.problems import PROBLEM_MEDIA_TYPE
from handover_tools.postgres import DATABASE_NAME, Server, drop_database, start_embedded
from handover_tools.services import SERVICES
from handover_tools.stack import Ports, Stack
from tests import builders
from tests.conftest import free_port_block
from tests.sql import fetch

pytestmark = pytest.mark.live

DEADLINE_SECONDS = 2.0
FAST = {
    "TALENT_OUTBOX_POLL_SECONDS": "1",
    "TALENT_OUTBOX_BACKOFF_INITIAL_SECONDS": "0.2",
    "TALENT_OUTBOX_BACKOFF_MAX_SECONDS": "1",
    # kpi is away on purpose for a while: its facts must wait for it, not be dead-lettered.
    "TALENT_OUTBOX_MAX_ATTEMPTS": "1000",
    "TALENT_UPSTREAM_DEADLINE_SECONDS": str(DEADLINE_SECONDS),
    "TALENT_UPSTREAM_COOL_DOWN_SECONDS": "1",
}
# A write may spend the gate's deadline, then the database's connect timeout (5 s).
WRITE_BOUND_SECONDS = DEADLINE_SECONDS + 5.0 + 1.0
RECOVERY_BOUND_SECONDS = 10.0
# Not `handover`: the session's `live` stack may run on the same server, and its talent relay
# would deliver this module's facts to its own kpi.
FAULTS_DATABASE = "handover_faults"

TOLD = "SELECT * FROM talent.outbox WHERE aggregate_id = ANY($1::uuid[])"
RECORDED = (
    "SELECT requisition_id FROM kpi.opened_requisitions WHERE requisition_id = ANY($1::uuid[])"
)
RECEIVED = "SELECT message_id FROM kpi.inbox WHERE message_id = ANY($1::uuid[])"


@pytest.fixture(scope="module")
def faults_stack(pg_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    asyncio.run(drop_database(pg_server, FAULTS_DATABASE))
    stack = Stack(
        pg_server,
        tmp_path_factory.mktemp("faults"),
        Ports.from_gateway(free_port_block(4)),
        env=FAST,
        database=FAULTS_DATABASE,
    )
    try:
        yield stack.start(gateway=False)
    finally:
        stack.stop()
        asyncio.run(drop_database(pg_server, FAULTS_DATABASE))


@pytest.fixture
def stack(faults_stack: Stack) -> Iterator[Stack]:
    """The module's stack, every service running again after the test, whatever it did."""
    yield faults_stack
    for service in SERVICES:
        faults_stack.resume_service(service.name)
        if faults_stack.processes[service.name].poll() is not None:
            faults_stack.start_service(service.name)


@asynccontextmanager
async def _client(stack: Stack, name: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=stack.service_url(name),
        headers={"Authorization": f"Bearer {stack.admin_key}"},
        timeout=30.0,
    ) as client:
        yield client


def _database(stack: Stack) -> URL:
    return stack.server.database_url(stack.database)


async def _wait_for(what: str, check: Callable[[], Awaitable[bool]], within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"not within {within}s: {what}"
        await asyncio.sleep(0.1)


def _requisition(engagement: dict[str, Any]) -> dict[str, Any]:
    return {"engagement_id": engagement["id"], "title": "Claims analyst", "headcount": 2}


async def _open(talent: httpx.AsyncClient, engagement: dict[str, Any]) -> httpx.Response:
    """Creates a requisition for the engagement's role and opens it: the opening tells kpi.
    The answer is the opening's, or the creation's if that failed."""
    body = {**_requisition(engagement), "role_id": engagement["role_id"]}
    created = await talent.post("/v1/requisitions", json=body)
    if created.status_code != 201:
        return created
    return await talent.post(
        f"/v1/requisitions/{created.json()['id']}/transitions", json={"status": "open"}
    )


async def _hiring_engagements(
    engagements: httpx.AsyncClient, talent: httpx.AsyncClient, count: int
) -> list[dict[str, Any]]:
    """Engagements, each with a role ready to hire for."""
    parents = [await builders.create_engagement(engagements) for _ in range(count)]
    for parent in parents:
        parent["role_id"] = (await builders.create_role(talent, parent["id"]))["id"]
    return parents


async def _open_requisitions(stack: Stack, count: int, *, over: int = 4) -> list[UUID]:
    async with _client(stack, "engagements") as engagements, _client(stack, "talent") as talent:
        parents = await _hiring_engagements(engagements, talent, over)
        ids = []
        for n in range(count):
            response = await _open(talent, parents[n % over])
            assert response.status_code == 200, response.text
            ids.append(UUID(response.json()["id"]))
    return ids


async def _all_tried_and_failed(url: URL, ids: list[UUID]) -> bool:
    told = await fetch(url, TOLD, ids)
    return len(told) == len(ids) and all(row["last_error"] is not None for row in told)


async def _all_delivered(url: URL, ids: list[UUID]) -> bool:
    told = await fetch(url, TOLD, ids)
    return len(told) == len(ids) and all(row["delivered_at"] is not None for row in told)


async def _assert_nothing_arrived(url: URL, ids: list[UUID]) -> None:
    told = await fetch(url, TOLD, ids)
    assert sorted(row["aggregate_id"] for row in told) == sorted(ids)
    assert all(row["delivered_at"] is None and row["dead_at"] is None for row in told)
    assert await fetch(url, RECORDED, ids) == []
    assert await fetch(url, RECEIVED, [row["message_id"] for row in told]) == []


async def _assert_arrived_exactly_once(url: URL, ids: list[UUID], within: float = 20) -> None:
    """One fact told per requisition, delivered, recorded once by kpi and once in its inbox."""
    await _wait_for("talent has delivered every fact", lambda: _all_delivered(url, ids), within)
    told = await fetch(url, TOLD, ids)
    assert sorted(row["aggregate_id"] for row in told) == sorted(ids)
    assert all(row["dead_at"] is None for row in told)
    recorded = await fetch(url, RECORDED, ids)
    assert sorted(row["requisition_id"] for row in recorded) == sorted(ids)
    message_ids = sorted(row["message_id"] for row in told)
    received = await fetch(url, RECEIVED, message_ids)
    assert sorted(row["message_id"] for row in received) == message_ids


async def _facts_held_while_kpi_is_down(stack: Stack) -> tuple[URL, list[UUID]]:
    """kpi stopped, and 20 requisitions opened: their facts tried, failed, and kept."""
    url = _database(stack)
    stack.stop_service("kpi")
    ids = await _open_requisitions(stack, 20)
    await _wait_for("talent tried every fact", lambda: _all_tried_and_failed(url, ids), 10)
    return url, ids


async def test_facts_told_while_the_receiver_is_down_arrive_exactly_once_when_it_returns(
    stack: Stack,
) -> None:
    url, ids = await _facts_held_while_kpi_is_down(stack)
    await _assert_nothing_arrived(url, ids)

    stack.start_service("kpi")

    await _assert_arrived_exactly_once(url, ids)


async def _kill_holding_no_lease(stack: Stack, url: URL, name: str) -> None:
    """SIGKILL `name` at a moment its relay holds no lease. A fact claimed but not reported on
    waits out its lease (a minute) before it is sent again: tests/test_outbox.py pins that;
    here the facts are at rest in the outbox. Paused, the process cannot take a lease between
    the look and the kill; a claim it had not committed is rolled back with its connection."""
    deadline = time.monotonic() + 10
    while True:
        stack.pause_service(name)
        if not await fetch(url, f"SELECT 1 FROM {name}.outbox WHERE locked_until > now()"):
            stack.kill_service(name)
            return
        stack.resume_service(name)
        assert time.monotonic() < deadline, f"{name} kept holding leases"
        await asyncio.sleep(0.05)


async def test_facts_committed_before_the_sender_is_killed_are_delivered_after_it_restarts(
    stack: Stack,
) -> None:
    url, ids = await _facts_held_while_kpi_is_down(stack)

    await _kill_holding_no_lease(stack, url, "talent")
    assert stack.processes["talent"].returncode == -signal.SIGKILL
    stack.start_service("kpi")
    await _assert_nothing_arrived(url, ids)  # no one else tells talent's facts
    stack.start_service("talent")

    await _assert_arrived_exactly_once(url, ids)


def _assert_gate_answered_503(response: httpx.Response, elapsed: float) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["dependency"] == "engagements"
    assert elapsed < DEADLINE_SECONDS + 1.0


async def test_a_hanging_upstream_makes_the_gate_answer_503_within_the_deadline(
    stack: Stack,
) -> None:
    async with _client(stack, "engagements") as engagements, _client(stack, "talent") as talent:
        engagement = await builders.create_engagement(engagements)
        stack.pause_service("engagements")
        try:
            started = time.monotonic()
            response = await talent.post("/v1/requisitions", json=_requisition(engagement))
            elapsed = time.monotonic() - started
        finally:
            stack.resume_service("engagements")
        _assert_gate_answered_503(response, elapsed)

        again = await talent.post("/v1/requisitions", json=_requisition(engagement))
        assert again.status_code == 201, again.text


@contextmanager
def _engagements_failing_the_gate(real: str) -> Iterator[tuple[str, list[str]]]:
    """An engagements that answers 500 to the gate's question, at the URL yielded with the
    paths it was asked. Everything else is passed on to the `real` one: talent learns from it
    who its callers are."""
    asked: list[str] = []
    passed_on = httpx.Client(base_url=real, timeout=5.0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            if self.path.startswith("/internal/v1/engagements/"):
                asked.append(self.path)
                self._reply(500, b"Internal Server Error", "text/plain")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {
                name: value
                for name in ("Authorization", "Content-Type", "X-Request-ID")
                if (value := self.headers.get(name)) is not None
            }
            answer = passed_on.request(self.command, self.path, content=body, headers=headers)
            self._reply(answer.status_code, answer.content, answer.headers["content-type"])

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        passed_on.close()


async def test_an_upstream_answering_500_makes_the_gate_answer_503_within_the_deadline(
    stack: Stack,
) -> None:
    async with _client(stack, "engagements") as engagements, _client(stack, "talent") as talent:
        engagement = await builders.create_engagement(engagements)
        with _engagements_failing_the_gate(stack.service_url("engagements")) as (failing, asked):
            stack.stop_service("talent")
            stack.start_service("talent", env={"TALENT_ENGAGEMENTS_URL": failing})
            try:
                started = time.monotonic()
                response = await talent.post("/v1/requisitions", json=_requisition(engagement))
                elapsed = time.monotonic() - started
            finally:
                stack.stop_service("talent")
                stack.start_service("talent")
        _assert_gate_answered_503(response, elapsed)
        assert asked
        assert set(asked) == {f"/internal/v1/engagements/{engagement['id']}"}


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A PostgreSQL of this test's own, to halt: the session's is shared, or not ours at all."""
    server = start_embedded(tmp_path / "postgres" / "data", delete_on_stop=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_stack(own_server: Server, tmp_path: Path) -> Iterator[Stack]:
    # The load is one principal's; it is not what the rate limit is about.
    env = {**FAST, "TALENT_RATE_LIMIT": "100000/minute"}
    stack = Stack(own_server, tmp_path / "stack", Ports.from_gateway(free_port_block(4)), env=env)
    try:
        yield stack.start(gateway=False)
    finally:
        stack.stop()


@dataclass(frozen=True)
class _Write:
    started: float
    ended: float
    response: httpx.Response

    @property
    def created(self) -> UUID | None:
        return UUID(self.response.json()["id"]) if self.response.status_code == 200 else None


class _Load:
    """Workers opening requisitions in a loop, each waiting for its answer before the next."""

    def __init__(self, talent: httpx.AsyncClient, engagements: list[dict[str, Any]]) -> None:
        self.talent = talent
        self.engagements = engagements
        self.writes: list[_Write] = []
        self._stop = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []

    def start(self, workers: int) -> None:
        self._workers = [asyncio.create_task(self._work(n)) for n in range(workers)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._workers)

    def created_since(self, moment: float) -> int:
        return sum(1 for w in self.writes if w.started >= moment and w.created is not None)

    async def _work(self, worker: int) -> None:
        n = worker
        while not self._stop.is_set():
            engagement = self.engagements[n % len(self.engagements)]
            started = time.monotonic()
            response = await _open(self.talent, engagement)
            self.writes.append(_Write(started, time.monotonic(), response))
            n += 1
            if response.status_code != 200:
                await asyncio.sleep(0.1)


async def _readiness(stack: Stack, client: httpx.AsyncClient) -> dict[str, int]:
    answers = await asyncio.gather(
        *(client.get(f"{stack.service_url(s.name)}/readyz") for s in SERVICES)
    )
    return {s.name: answer.status_code for s, answer in zip(SERVICES, answers, strict=True)}


async def test_services_are_not_ready_while_postgresql_is_down_and_recover_without_a_restart(
    own_server: Server, own_stack: Stack
) -> None:
    stack, url = own_stack, own_server.database_url(DATABASE_NAME)
    pids = {name: process.pid for name, process in stack.processes.items()}
    async with (
        _client(stack, "engagements") as engagements,
        _client(stack, "talent") as talent,
        httpx.AsyncClient(timeout=5.0) as probe,
    ):
        parents = await _hiring_engagements(engagements, talent, 3)
        load = _Load(talent, parents)
        load.start(workers=6)

        async def created_since(moment: float, count: int) -> bool:
            return load.created_since(moment) >= count

        await _wait_for("writes accepted", lambda: created_since(0, 10), 10)
        await asyncio.to_thread(own_server.halt)
        halted = time.monotonic()

        async def none_ready() -> bool:
            return set((await _readiness(stack, probe)).values()) == {503}

        await _wait_for("every service says it is not ready", none_ready, 10)

        async def answered_since(moment: float, count: int) -> bool:
            return sum(1 for w in load.writes if w.started >= moment) >= count

        await _wait_for("writes answered during the outage", lambda: answered_since(halted, 6), 10)
        resuming = time.monotonic()
        await asyncio.to_thread(own_server.resume)

        async def all_ready() -> bool:
            return set((await _readiness(stack, probe)).values()) == {200}

        await _wait_for("every service ready again", all_ready, RECOVERY_BOUND_SECONDS)
        recovered = time.monotonic()
        # Talent's breaker on engagements may have opened during the outage: it lets a trial
        # call through once its cool-down is over.
        await _wait_for("writes accepted again", lambda: created_since(recovered, 10), 10)
        await load.stop()

        assert {name: process.pid for name, process in stack.processes.items()} == pids
        assert all(process.poll() is None for process in stack.processes.values())
        during = [w for w in load.writes if w.started >= halted and w.ended <= resuming]
        assert during
        assert {w.response.status_code for w in during} == {503}
        for write in load.writes:
            assert write.ended - write.started < WRITE_BOUND_SECONDS
            if write.created is None:
                assert write.response.status_code == 503, write.response.text
                assert write.response.headers["content-type"] == PROBLEM_MEDIA_TYPE
                assert write.response.json()["dependency"] in {"engagements", "database"}

        created = [w.created for w in load.writes if w.created is not None]
        for requisition_id in created:
            assert (await talent.get(f"/v1/requisitions/{requisition_id}")).status_code == 200
        # Every committed write, including one whose answer the outage cut off, is told; the
        # outcomes of sends the outage interrupted are recorded once it is over, not resent.
        committed = [
            row["id"]
            for row in await fetch(
                url, "SELECT id FROM talent.requisitions WHERE opened_at IS NOT NULL"
            )
        ]
        assert set(created) <= set(committed)
        await _assert_arrived_exactly_once(url, committed)
        last = await talent.post("/v1/requisitions", json=_requisition(parents[0]))
        assert last.status_code == 201, last.text
