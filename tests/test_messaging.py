"""Facts between services, in-process: what talent tells kpi, how kpi receives, and what an
administrator sees of the facts that could not be delivered."""

import asyncio
import time
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
from sqlalchemy.engine import URL

from handover_kit.credentials import ServiceAuth
from handover_kit.db import ALL_TENANTS, Database, dsn
from handover_kit.outbox import OutboxMessage
from handover_kpi.config import Settings as KpiSettings
from handover_kpi.db import MESSAGING as KPI_MESSAGING
from handover_shared.messages import MESSAGES_PATH, Envelope
from handover_shared.talent import REQUISITION_OPENED, RequisitionOpened
from handover_talent.config import Settings as TalentSettings
from handover_talent.db import MESSAGING as TALENT_MESSAGING
from tests import builders
from tests.conftest import Services, as_service
from tests.sql import fetch


async def _open_requisition(services: Services, engagement: dict[str, Any]) -> dict[str, Any]:
    return await builders.open_requisition(
        services.talent, engagement["id"], title="Claims analyst", headcount=3
    )


async def test_an_opened_requisition_reaches_kpi_once_with_its_engagements_parties(
    services: Services, database_url: URL
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    requisition = await _open_requisition(services, engagement)
    await builders.facts_delivered(services.talent)

    rows = await fetch(database_url, "SELECT * FROM kpi.opened_requisitions")
    assert [dict(row) for row in rows] == [
        {
            "requisition_id": UUID(requisition["id"]),
            "engagement_id": UUID(engagement["id"]),
            "client_id": UUID(engagement["client_id"]),
            "partner_id": UUID(engagement["partner_id"]),
            "title": "Claims analyst",
            "headcount": 3,
            "opened_at": rows[0]["opened_at"],
            "recorded_at": rows[0]["recorded_at"],
        }
    ]
    assert rows[0]["opened_at"].isoformat() == requisition["opened_at"].replace("Z", "+00:00")
    told = await fetch(
        database_url,
        "SELECT message_id, delivered_at FROM talent.outbox WHERE aggregate_id = $1",
        UUID(requisition["id"]),
    )
    received = await fetch(database_url, "SELECT message_id, source FROM kpi.inbox")
    assert len(told) == 1
    assert told[0]["delivered_at"] is not None
    assert [(r["message_id"], r["source"]) for r in received] == [(told[0]["message_id"], "talent")]


async def test_a_requisition_refused_at_the_gate_tells_nothing(
    services: Services, database_url: URL
) -> None:
    response = await services.talent.post(
        "/v1/requisitions", json={"engagement_id": str(uuid4()), "title": "Ghost", "headcount": 1}
    )
    assert response.status_code == 422
    assert await fetch(database_url, "SELECT 1 FROM talent.outbox") == []


# The receiving endpoint, called as talent would call it.


def _opened(**payload: Any) -> dict[str, Any]:
    fact = RequisitionOpened(
        requisition_id=uuid4(),
        engagement_id=uuid4(),
        client_id=uuid4(),
        partner_id=uuid4(),
        title="Claims analyst",
        headcount=2,
        opened_at="2026-11-30T09:00:00Z",  # type: ignore[arg-type]
    )
    envelope = REQUISITION_OPENED.envelope(fact, source="talent", aggregate_id=fact.requisition_id)
    document = envelope.model_dump(mode="json")
    document["payload"].update(payload)
    return document


async def test_a_redelivered_fact_is_acknowledged_and_applied_once(
    as_talent: httpx.AsyncClient, database_url: URL
) -> None:
    fact = _opened()
    answers = [await as_talent.post(MESSAGES_PATH, json=fact) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    rows = await fetch(database_url, "SELECT requisition_id::text FROM kpi.opened_requisitions")
    assert [row[0] for row in rows] == [fact["payload"]["requisition_id"]]


async def test_concurrent_deliveries_of_one_fact_apply_it_once(
    as_talent: httpx.AsyncClient, database_url: URL
) -> None:
    fact = _opened()
    answers = await asyncio.gather(*(as_talent.post(MESSAGES_PATH, json=fact) for _ in range(8)))
    assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 7
    assert len(await fetch(database_url, "SELECT 1 FROM kpi.opened_requisitions")) == 1


async def test_a_fact_of_an_unknown_type_or_version_is_refused_and_not_recorded(
    as_talent: httpx.AsyncClient, database_url: URL
) -> None:
    for change in ({"version": 2}, {"message_type": "talent.requisition_closed"}):
        response = await as_talent.post(MESSAGES_PATH, json={**_opened(), **change})
        assert response.status_code == 422
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["type"] == "/problems/unknown-message"
        assert (problem["message_type"], problem["version"]) == (
            change.get("message_type", REQUISITION_OPENED.name),
            change.get("version", 1),
        )
    assert await fetch(database_url, "SELECT 1 FROM kpi.inbox") == []


async def test_a_payload_that_does_not_fit_its_type_is_refused_naming_the_field(
    as_talent: httpx.AsyncClient, database_url: URL
) -> None:
    response = await as_talent.post(MESSAGES_PATH, json=_opened(headcount=0))
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["body", "payload", "headcount"]]
    assert await fetch(database_url, "SELECT 1 FROM kpi.inbox") == []


async def test_only_a_service_may_deliver_and_only_its_own_facts(
    services: Services, database_url: URL
) -> None:
    fact = _opened()
    assert (await services.kpi.post(MESSAGES_PATH, json=fact)).status_code == 403
    settings = KpiSettings.with_database(as_service(database_url))
    impostor = ServiceAuth("engagements", settings.signing_key("engagements"), audience="kpi")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=services.apps["kpi"]),
        base_url="http://kpi",
        auth=impostor,
    ) as engagements:
        response = await engagements.post(MESSAGES_PATH, json=fact)
    assert response.status_code == 403
    assert response.json()["detail"] == "A service tells only its own facts."
    assert await fetch(database_url, "SELECT 1 FROM kpi.inbox") == []


# Dead letters: a fact kpi cannot read stops being retried, and an administrator sees it.


async def _tell_kpi_an_unreadable_fact(database_url: URL) -> OutboxMessage:
    fact = _opened()
    envelope = Envelope[Any].model_validate({**fact, "version": 99})
    message = OutboxMessage(envelope, "requisition", "kpi", MESSAGES_PATH)
    db = Database(TalentSettings.with_database(as_service(database_url)), "tests")
    try:
        async with db.session(ALL_TENANTS) as session, session.begin():
            await TALENT_MESSAGING.outbox.enqueue(session, message)
    finally:
        await db.dispose()
    return message


async def _dead_letters(client: httpx.AsyncClient, expected: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        response = await client.get("/v1/admin/talent/dead-letters")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        if len(items) == expected or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.05)


async def test_an_unreadable_fact_is_dead_lettered_listed_counted_and_replayable(
    services: Services, database_url: URL
) -> None:
    message = await _tell_kpi_an_unreadable_fact(database_url)
    [dead] = await _dead_letters(services.talent, expected=1)
    assert dead["message_id"] == str(message.envelope.message_id)
    assert (dead["destination"], dead["version"], dead["attempts"]) == ("kpi", 99, 1)
    assert dead["last_error"].startswith("HTTP 422")
    assert dead["dead_at"] is not None
    assert await builders.gauge(services.talent, "handover_outbox_dead") == 1
    assert await builders.gauge(services.talent, "handover_outbox_pending") == 0

    replayed = await services.talent.post(f"/v1/admin/talent/dead-letters/{dead['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    assert (replayed.json()["dead_at"], replayed.json()["attempts"]) == (None, 0)
    # kpi still cannot read it: it is tried once more, and is dead again.
    [again] = await _dead_letters(services.talent, expected=1)
    deadline = time.monotonic() + 10
    while again["dead_at"] is None and time.monotonic() < deadline:
        [again] = await _dead_letters(services.talent, expected=1)
    assert (again["id"], again["attempts"]) == (dead["id"], 1)
    assert again["dead_at"] is not None


async def test_replaying_what_is_not_a_dead_letter_is_a_404_problem(services: Services) -> None:
    response = await services.talent.post(f"/v1/admin/talent/dead-letters/{uuid4()}/replay")
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/dead-letter-not-found"


async def test_dead_letters_are_for_platform_administrators_only(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    key = await builders.create_api_key(
        services.engagements,
        ["talent:read", "talent:write", "organization:admin"],
        organization_id=engagement["client_id"],
    )
    tenant = await services.acting_as(key["key"])
    assert (await tenant.talent.get("/v1/admin/talent/dead-letters")).status_code == 403
    replay = await tenant.talent.post(f"/v1/admin/talent/dead-letters/{uuid4()}/replay")
    assert replay.status_code == 403


async def test_tidying_forgets_only_what_is_past_its_retention(
    services: Services, database_url: URL
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    old = await _open_requisition(services, engagement)
    recent = await _open_requisition(services, engagement)
    await builders.facts_delivered(services.talent)
    admin = await asyncpg.connect(dsn(database_url))
    try:
        old_message = await admin.fetchval(
            "UPDATE talent.outbox SET delivered_at = now() - interval '8 days'"
            " WHERE aggregate_id = $1 RETURNING message_id",
            UUID(old["id"]),
        )
        await admin.execute(
            "UPDATE kpi.inbox SET received_at = now() - interval '31 days' WHERE message_id = $1",
            old_message,
        )
    finally:
        await admin.close()
    for settings, messaging in ((TalentSettings, TALENT_MESSAGING), (KpiSettings, KPI_MESSAGING)):
        db = Database(settings.with_database(as_service(database_url)), "tests")
        try:
            await messaging.tidy(db, delivered_for=timedelta(days=7), received_for=timedelta(30))
        finally:
            await db.dispose()
    told = await fetch(database_url, "SELECT aggregate_id::text FROM talent.outbox")
    assert [row[0] for row in told] == [recent["id"]]
    received = await fetch(database_url, "SELECT message_id FROM kpi.inbox")
    assert old_message not in [row[0] for row in received]
    assert len(received) == 1
