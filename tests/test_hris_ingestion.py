"""HRIS/ATS deliveries up to the pipeline: verified on their raw bytes, stored once before the
answer, refused with a problem (and not stored) when forged, stale, unreadable or too large."""

import asyncio
import base64
import json
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import URL

from handover_kit.credentials import new_service_seed
from handover_kit.db import Database, Tenancy, dsn
from handover_talent.config import DEV_HRIS_SECRETS_KEY, Settings
from handover_talent.ingestion.apply import apply_to_pipeline
from handover_talent.ingestion.command import reseal
from handover_talent.ingestion.processor import Processor
from handover_talent.ingestion.repository import CHANNEL, SourceKeys
from handover_talent.ingestion.secrets import SecretBox
from handover_talent.ingestion.service import SourceKeyCache
from handover_talent.ingestion.wakeup import ProcessorWakeup
from handover_talent.main import create_app
from tests import builders
from tests.conftest import Services, as_service
from tests.sql import fetch

PROBLEM = "application/problem+json"
_SEED = new_service_seed()


@pytest.fixture
async def vendor(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """What a vendor has: the gateway's address and no bearer token."""
    async with httpx.AsyncClient(
        transport=builders.gateway(services.apps), base_url="http://gateway"
    ) as client:
        yield client


@pytest.fixture
async def engagement(services: Services) -> dict[str, Any]:
    return await builders.create_engagement(services.engagements)


async def _events(services: Services, source_id: str) -> list[dict[str, Any]]:
    response = await services.talent.get(f"/v1/hris/sources/{source_id}/events")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _deliver(source: dict[str, Any]) -> str:
    return str(source["webhook_path"])


HIRED = {
    "candidate": {"external_id": "cand-1", "name": "Maria Santos"},
    "application_id": "app-1",
    "job_id": "job-1",
    "start_date": "2025-04-01",
}


async def test_a_standard_webhooks_source_gets_a_whsec_secret_shown_once_and_stored_sealed(
    services: Services, engagement: dict[str, Any], database_url: URL
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"])
    assert source["secret"].startswith("whsec_")
    fetched = await services.talent.get(f"/v1/hris/sources/{source['id']}")
    assert fetched.status_code == 200
    assert "secret" not in fetched.json()
    listed = (await services.talent.get("/v1/hris/sources")).json()["items"]
    assert [s["id"] for s in listed] == [source["id"]]
    assert source["secret"] not in fetched.text + str(listed)
    connection = await asyncpg.connect(dsn(database_url))
    try:
        sealed = await connection.fetchval("SELECT secret_sealed FROM talent.hris_sources")
    finally:
        await connection.close()
    assert source["secret"] not in sealed
    assert source["secret"].removeprefix("whsec_") not in sealed


@pytest.mark.parametrize(
    ("vendor_name", "secret", "loc_type"),
    [("greenhouse", None, "missing"), ("standard_webhooks", "a" * 32, "extra_forbidden")],
)
async def test_who_draws_the_secret_depends_on_the_vendor(
    services: Services,
    engagement: dict[str, Any],
    vendor_name: str,
    secret: str | None,
    loc_type: str,
) -> None:
    body = {"engagement_id": engagement["id"], "name": "Feed", "vendor": vendor_name}
    response = await services.talent.post("/v1/hris/sources", json={**body, "secret": secret})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0] == {
        "loc": ["body", "secret"],
        "msg": response.json()["errors"][0]["msg"],
        "type": loc_type,
    }


async def test_an_unknown_vendor_or_engagement_is_refused(
    services: Services, engagement: dict[str, Any]
) -> None:
    unknown_vendor = await services.talent.post(
        "/v1/hris/sources",
        json={"engagement_id": engagement["id"], "name": "Feed", "vendor": "lever"},
    )
    assert unknown_vendor.status_code == 422
    unknown_engagement = await services.talent.post(
        "/v1/hris/sources",
        json={
            "engagement_id": "0196f5b4-7d3c-7000-8000-000000000000",
            "name": "F",
            "vendor": "ashby",
            "secret": "s" * 20,
        },
    )
    assert unknown_engagement.status_code == 422
    assert unknown_engagement.json()["errors"][0]["loc"] == ["body", "engagement_id"]


async def test_a_signed_delivery_is_stored_before_202_and_a_redelivery_is_a_duplicate(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"])
    headers, body = builders.standard_webhook(
        source["secret"], "candidate.hired", {**HIRED, "occurred_at": "2025-03-01T09:00:00Z"}
    )
    first = await vendor.post(_deliver(source), content=body, headers=headers)
    assert first.status_code == 202, first.text
    again = await vendor.post(_deliver(source), content=body, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "duplicate"
    events = await _events(services, source["id"])
    assert [(e["event_id"], e["kind"], e["channel"]) for e in events] == [
        (headers["webhook-id"], "candidate.hired", "webhook")
    ] * 2
    original, duplicate = events
    assert original["id"] == first.json()["id"]
    assert duplicate["status"] == "duplicate"
    assert duplicate["duplicate_of"] == original["id"]
    # The log never shows what the body holds about the person.
    assert "Maria" not in str(events)


async def test_deliveries_of_one_event_at_once_store_it_once(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"])
    headers, body = builders.standard_webhook(source["secret"], "candidate.hired", HIRED)
    answers = await asyncio.gather(
        *(vendor.post(_deliver(source), content=body, headers=headers) for _ in range(6))
    )
    assert sorted(a.status_code for a in answers) == [200] * 5 + [202]
    events = await _events(services, source["id"])
    originals = [e for e in events if e["duplicate_of"] is None]
    assert len(originals) == 1
    assert len(events) == 6


@pytest.mark.parametrize(
    ("tamper", "problem_type"),
    [
        (lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), "invalid-webhook-signature"),
        (lambda h, b: (h, b.replace(b"cand-1", b"cand-2")), "invalid-webhook-signature"),
        (
            lambda h, b: ({**h, "webhook-signature": "v2,xx v1,not-base64!! v1"}, b),
            "invalid-webhook-signature",
        ),
        (
            lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
            "invalid-webhook-signature",
        ),
        (lambda h, b: ({**h, "webhook-timestamp": "soon"}, b), "invalid-webhook-signature"),
    ],
    ids=["wrong-signature", "body-changed", "malformed-signatures", "unsigned", "bad-timestamp"],
)
async def test_a_forged_delivery_is_a_401_problem_and_not_stored(
    services: Services,
    engagement: dict[str, Any],
    vendor: httpx.AsyncClient,
    tamper: Any,
    problem_type: str,
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"])
    headers, body = tamper(*builders.standard_webhook(source["secret"], "candidate.hired", HIRED))
    response = await vendor.post(_deliver(source), content=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == f"/problems/{problem_type}"
    assert await _events(services, source["id"]) == []


@pytest.mark.parametrize("skew", [-301, 301], ids=["too-old", "too-new"])
async def test_a_delivery_signed_more_than_five_minutes_away_is_stale(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient, skew: int
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"])
    headers, body = builders.standard_webhook(
        source["secret"], "candidate.hired", HIRED, sent_at=time.time() + skew
    )
    response = await vendor.post(_deliver(source), content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/stale-webhook-timestamp"
    assert await _events(services, source["id"]) == []
    within = builders.standard_webhook(
        source["secret"], "candidate.hired", HIRED, sent_at=time.time() + skew * 0.9
    )
    assert (
        await vendor.post(_deliver(source), content=within[1], headers=within[0])
    ).status_code == 202


async def test_a_signed_but_unreadable_delivery_is_a_400_problem_and_not_stored(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"])
    not_json = b'{"type": "candidate.hired", "data": '
    headers, _ = builders.standard_webhook(source["secret"], "candidate.hired", HIRED)
    from standardwebhooks import Webhook  # signing arbitrary bytes, as a buggy sender would

    def signed(body: bytes) -> dict[str, str]:
        when = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC)
        return {
            **headers,
            "webhook-signature": Webhook(source["secret"]).sign(
                headers["webhook-id"], when, body.decode()
            ),
        }

    response = await vendor.post(_deliver(source), content=not_json, headers=signed(not_json))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/unreadable-webhook"
    no_start = builders.standard_webhook(
        source["secret"], "candidate.hired", {k: v for k, v in HIRED.items() if k != "start_date"}
    )
    response = await vendor.post(_deliver(source), content=no_start[1], headers=no_start[0])
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["body", "data", "candidate.hired", "start_date"]
    assert "cand-1" not in response.text
    assert await _events(services, source["id"]) == []


async def test_an_oversized_delivery_is_a_413_problem_and_not_stored(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"])
    headers, body = builders.standard_webhook(
        source["secret"], "candidate.hired", {**HIRED, "padding": "x" * 2_000_000}
    )
    response = await vendor.post(_deliver(source), content=body, headers=headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert await _events(services, source["id"]) == []


@pytest.mark.parametrize("source_id", ["0196f5b4-7d3c-7000-8000-000000000000", "not-a-uuid"])
async def test_a_delivery_to_a_source_that_does_not_exist_is_a_404(
    vendor: httpx.AsyncClient, source_id: str
) -> None:
    headers, body = builders.standard_webhook("whsec_" + "A" * 32, "candidate.hired", HIRED)
    response = await vendor.post(
        f"/v1/hris/sources/{source_id}/webhook", content=body, headers=headers
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/hris-source-not-found"


async def test_greenhouse_is_verified_on_the_raw_bytes_it_escaped_before_signing(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"], "greenhouse")
    payload = builders.greenhouse_application(101, 201, 4012, stage="Offer", starts_at="2025-04-01")
    headers, body = builders.greenhouse_delivery(source["secret"], "hire_candidate", payload)
    assert b"\\u003cHealth\\u003e" in body
    accepted = await vendor.post(_deliver(source), content=body, headers=headers)
    assert accepted.status_code == 202, accepted.text
    # The same JSON, re-serialised, is not what Greenhouse signed.
    reserialised = json.dumps(json.loads(body)).encode()
    assert reserialised != body
    refused = await vendor.post(
        _deliver(source),
        content=reserialised,
        headers={**headers, "Greenhouse-Event-ID": "another"},
    )
    assert refused.status_code == 401
    (event,) = await _events(services, source["id"])
    assert (event["action"], event["kind"], event["event_id"]) == (
        "hire_candidate",
        "candidate.hired",
        headers["Greenhouse-Event-ID"],
    )


async def test_greenhouse_ping_is_acknowledged_and_other_actions_are_kept_as_ignored(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"], "greenhouse")
    headers, body = builders.greenhouse_delivery(source["secret"], "ping", {"web_hook_id": 1})
    assert (await vendor.post(_deliver(source), content=body, headers=headers)).status_code == 200
    headers, body = builders.greenhouse_delivery(
        source["secret"], "job_created", {"job": {"id": 4012, "name": "Analyst"}}
    )
    assert (await vendor.post(_deliver(source), content=body, headers=headers)).status_code == 202
    (event,) = await _events(services, source["id"])
    assert (event["action"], event["status"], event["kind"]) == ("job_created", "ignored", None)
    assert "job_created" in event["reason"]
    forged = builders.greenhouse_delivery("not-the-secret-at-all", "ping", {})
    assert (
        await vendor.post(_deliver(source), content=forged[1], headers=forged[0])
    ).status_code == 401


async def test_greenhouse_without_its_event_id_header_is_unreadable(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"], "greenhouse")
    payload = builders.greenhouse_application(101, 201, 4012)
    headers, body = builders.greenhouse_delivery(
        source["secret"], "candidate_stage_change", payload
    )
    del headers["Greenhouse-Event-ID"]
    response = await vendor.post(_deliver(source), content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["header", "greenhouse-event-id"]


async def test_ashby_dedupes_on_its_webhook_action_id(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"], "ashby")
    data = {"application": builders.ashby_application("app-a", "cand-a", "job-a")}
    headers, body = builders.ashby_delivery(source["secret"], "candidateStageChange", data)
    assert (await vendor.post(_deliver(source), content=body, headers=headers)).status_code == 202
    assert (await vendor.post(_deliver(source), content=body, headers=headers)).status_code == 200
    wrong = {**headers, "Ashby-Signature": headers["Ashby-Signature"].replace("sha256=", "sha1=")}
    assert (await vendor.post(_deliver(source), content=body, headers=wrong)).status_code == 401
    ping = builders.ashby_delivery(source["secret"], "ping", {})
    assert (
        await vendor.post(_deliver(source), content=ping[1], headers=ping[0])
    ).status_code == 200
    events = await _events(services, source["id"])
    assert [(e["kind"], e["status"] == "duplicate") for e in events] == [
        ("application.stage_changed", False),
        ("application.stage_changed", True),
    ]


async def test_during_a_rotation_overlap_both_secrets_pass_and_after_it_only_the_new_one(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"])
    old = source["secret"]
    rotated = await services.talent.post(
        f"/v1/hris/sources/{source['id']}/secret-rotations", json={"overlap_hours": 24}
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_")
    assert new != old

    async def deliver(*secrets: str) -> int:
        headers, body = builders.standard_webhook(secrets[0], "candidate.hired", HIRED)
        if len(secrets) > 1:  # a sender signing with both, as the spec allows mid-rotation
            extra = builders.standard_webhook(
                secrets[1],
                "candidate.hired",
                HIRED,
                msg_id=headers["webhook-id"],
                sent_at=float(headers["webhook-timestamp"]),
            )[0]
            headers["webhook-signature"] += " " + extra["webhook-signature"]
        return (await vendor.post(_deliver(source), content=body, headers=headers)).status_code

    assert await deliver(old) == 202
    assert await deliver(new) == 202
    assert await deliver("whsec_" + "B" * 40, new) == 202
    ended = await services.talent.post(
        f"/v1/hris/sources/{source['id']}/secret-rotations", json={"overlap_hours": 0}
    )
    newest = ended.json()["secret"]
    assert await deliver(old) == 401
    assert await deliver(new) == 401
    assert await deliver(newest) == 202


async def test_a_secret_rotated_by_another_instance_passes_at_once_though_the_old_keys_are_kept(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient, database_url: URL
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"])
    headers, body = builders.standard_webhook(source["secret"], "candidate.hired", HIRED)
    assert (await vendor.post(_deliver(source), content=body, headers=headers)).status_code == 202
    # Another instance rotates: the stored source changes, the keys this one keeps do not.
    new = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    await fetch(
        database_url,
        "UPDATE talent.hris_sources SET secret_sealed = $1 WHERE id = $2",
        SecretBox([DEV_HRIS_SECRETS_KEY]).seal(new),
        UUID(source["id"]),
    )
    headers, body = builders.standard_webhook(new, "candidate.hired", HIRED)
    assert (await vendor.post(_deliver(source), content=body, headers=headers)).status_code == 202


async def test_storing_a_delivery_within_a_transaction_gives_its_tenancy_back(
    services: Services, engagement: dict[str, Any], database_url: URL
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"])
    db = Database(Settings.with_database(as_service(database_url)), application_name="test")
    caller = uuid4()
    try:
        async with db.raw(Tenancy(tenant=caller), read_only=False) as connection:
            stored = await connection.fetchrow(
                "SELECT * FROM talent.store_delivery($1, $2, $3, 'evt-1', 'webhook',"
                " 'application.created', NULL, NULL, 'received', NULL, NULL, '{}', '')",
                UUID(source["id"]),
                UUID(engagement["client_id"]),
                UUID(engagement["partner_id"]),
            )
            tenant = await connection.fetchval("SELECT current_setting('handover.tenant')")
    finally:
        await db.dispose()
    assert stored is not None
    assert stored["original_id"] is None
    assert tenant == str(caller)


async def test_resealing_moves_every_secret_to_the_first_key_so_the_others_can_go(
    services: Services, engagement: dict[str, Any], database_url: URL
) -> None:
    sources = [
        await builders.create_hris_source(services.talent, engagement["id"]) for _ in range(2)
    ]
    lost = Fernet(Fernet.generate_key()).encrypt(b"whsec_lost").decode()
    (orphan,) = await fetch(
        database_url,
        "INSERT INTO talent.hris_sources (engagement_id, client_id, partner_id, name, vendor,"
        " secret_sealed) VALUES (uuidv7(), uuidv7(), uuidv7(), 'old', 'ashby', $1) RETURNING id",
        lost,
    )
    new = Fernet.generate_key().decode()
    settings = Settings.with_database(
        as_service(database_url), hris_secrets_keys=f"{new},{DEV_HRIS_SECRETS_KEY}"
    )
    first = await reseal(settings)
    again = await reseal(settings)
    rows = await fetch(
        database_url,
        "SELECT id, secret_sealed FROM talent.hris_sources WHERE secret_sealed <> $1",
        lost,
    )
    assert (first.resealed, first.already, first.unreadable) == (2, 0, [orphan["id"]])
    assert (again.resealed, again.already) == (0, 2)
    opened = {str(row["id"]): SecretBox([new]).open(row["secret_sealed"]) for row in rows}
    assert opened == {source["id"]: source["secret"] for source in sources}


def test_kept_source_keys_are_read_again_after_their_few_seconds() -> None:
    now = [0.0]
    kept = SourceKeyCache(ttl=5.0, clock=lambda: now[0])
    keys = SourceKeys(uuid4(), uuid4(), uuid4(), "standard_webhooks", "sealed", None, None)
    kept.keep(keys)
    now[0] = 5.0
    assert kept.get(keys.id) == keys
    now[0] = 5.1
    assert kept.get(keys.id) is None


async def test_rotating_a_greenhouse_secret_takes_the_one_set_in_greenhouse(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"], "greenhouse")
    path = f"/v1/hris/sources/{source['id']}/secret-rotations"
    assert (await services.talent.post(path, json={})).status_code == 422
    rotated = await services.talent.post(path, json={"secret": "the-new-greenhouse-key-1234"})
    assert rotated.json()["secret"] == "the-new-greenhouse-key-1234"
    payload = builders.greenhouse_application(1, 2, 3)
    for secret in (source["secret"], "the-new-greenhouse-key-1234"):
        headers, body = builders.greenhouse_delivery(secret, "candidate_stage_change", payload)
        assert (
            await vendor.post(_deliver(source), content=body, headers=headers)
        ).status_code == 202


async def test_a_batch_answers_per_event_and_a_resent_batch_changes_nothing(
    services: Services, engagement: dict[str, Any]
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"], "ashby")
    events = [
        {
            "kind": "application.created",
            "event_id": f"e{i}",
            "occurred_at": "2025-03-01T09:00:00Z",
            "candidate": {"external_id": f"c{i}"},
            "application_id": f"a{i}",
            "job_id": "j",
        }
        for i in range(3)
    ]
    path = f"/v1/hris/sources/{source['id']}/event-batches"
    first = await services.talent.post(path, json={"events": events})
    assert first.status_code == 202, first.text
    assert [r["status"] for r in first.json()["results"]] == ["received"] * 3
    again = await services.talent.post(
        path, json={"events": [events[1], {**events[1], "event_id": "e9"}]}
    )
    assert [(r["event_id"], r["status"]) for r in again.json()["results"]] == [
        ("e1", "duplicate"),
        ("e9", "received"),
    ]
    assert again.json()["results"][0]["id"] == first.json()["results"][1]["id"]
    invalid = await services.talent.post(
        path, json={"events": [events[0], {**events[0], "kind": "nope"}]}
    )
    assert invalid.status_code == 422
    logged = await _events(services, source["id"])
    assert [(e["event_id"], e["channel"]) for e in logged if e["status"] != "duplicate"] == [
        ("e0", "batch"),
        ("e1", "batch"),
        ("e2", "batch"),
        ("e9", "batch"),
    ]


async def test_the_event_log_filters_and_pages(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"], "greenhouse")
    for action in ("job_created", "job_updated", "candidate_stage_change"):
        headers, body = builders.greenhouse_delivery(
            source["secret"], action, builders.greenhouse_application(1, 2, 3)
        )
        assert (
            await vendor.post(_deliver(source), content=body, headers=headers)
        ).status_code == 202
    path = f"/v1/hris/sources/{source['id']}/events"
    ignored = (await services.talent.get(path, params={"status": "ignored"})).json()["items"]
    assert [e["action"] for e in ignored] == ["job_created", "job_updated"]
    first = (await services.talent.get(path, params={"limit": 2})).json()
    second = (
        await services.talent.get(path, params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [e["action"] for e in first["items"] + second["items"]] == [
        "job_created",
        "job_updated",
        "candidate_stage_change",
    ]
    assert second["next_cursor"] is None
    by_kind = (await services.talent.get(path, params={"kind": "application.stage_changed"})).json()
    assert [e["action"] for e in by_kind["items"]] == ["candidate_stage_change"]


async def test_a_dedupe_id_longer_than_is_kept_is_unreadable_not_a_failure(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"], "greenhouse")
    headers, body = builders.greenhouse_delivery(
        source["secret"],
        "candidate_stage_change",
        builders.greenhouse_application(1, 2, 3),
        event_id="e" * 201,
    )
    response = await vendor.post(_deliver(source), content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert await _events(services, source["id"]) == []


@pytest.mark.parametrize(
    ("vendor_name", "action", "payload", "kind"),
    [
        (
            "greenhouse",
            "reject_candidate",
            {
                "application": {
                    **builders.greenhouse_application(5, 6, 7)["application"],
                    "rejected_at": "2025-03-02T10:00:00Z",
                    "rejection_reason": {"id": 1, "name": "Lacking skill(s)"},
                }
            },
            "candidate.rejected",
        ),
        (
            "greenhouse",
            "unhire_candidate",
            builders.greenhouse_application(5, 6, 7),
            "candidate.unhired",
        ),
        (
            "greenhouse",
            "offer_updated",
            {
                "id": 1,
                "application_id": 5,
                "job_id": 7,
                "candidate_id": 6,
                "offer_status": "Rejected",
            },
            "offer.declined",
        ),
        (
            "ashby",
            "candidateStageChange",
            {"application": builders.ashby_application("a", "c", "j", stage_type="Archived")},
            "candidate.rejected",
        ),
        (
            "ashby",
            "applicationSubmit",
            {"application": builders.ashby_application("a", "c", "j", stage_type="Lead")},
            "application.created",
        ),
    ],
    ids=["gh-reject", "gh-unhire", "gh-offer-declined", "ashby-archived", "ashby-submit"],
)
async def test_each_vendor_action_maps_onto_its_canonical_kind(
    services: Services,
    engagement: dict[str, Any],
    vendor: httpx.AsyncClient,
    vendor_name: str,
    action: str,
    payload: dict[str, Any],
    kind: str,
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"], vendor_name)
    sign = builders.greenhouse_delivery if vendor_name == "greenhouse" else builders.ashby_delivery
    headers, body = sign(source["secret"], action, payload)
    assert (await vendor.post(_deliver(source), content=body, headers=headers)).status_code == 202
    (event,) = await _events(services, source["id"])
    assert (event["action"], event["kind"]) == (action, kind)


def test_production_refuses_to_serve_without_a_valid_secrets_key() -> None:
    production = {"HANDOVER_ENV": "production", "db_password": "real", "service_key": _SEED}
    unused = "postgresql://unused/unused"
    with pytest.raises(ValueError, match="TALENT_HRIS_SECRETS_KEYS must be set"):
        create_app(Settings.with_database(unused, **production))
    with pytest.raises(ValueError, match="Fernet"):
        create_app(Settings.with_database(unused, **production, hris_secrets_keys="not-a-key"))
    key = Fernet.generate_key().decode()
    create_app(Settings.with_database(unused, **production, hris_secrets_keys=f"{key}, {key}"))


async def _bodies(database_url: URL, source_id: str) -> dict[str, bool]:
    rows = await fetch(
        database_url,
        "SELECT action, status, body IS NOT NULL AS kept FROM talent.hris_events"
        " WHERE source_id = $1",
        source_id,
    )
    return {f"{row['action']}:{row['status']}": row["kept"] for row in rows}


async def test_bodies_of_settled_events_are_forgotten_after_their_retention_and_dead_ones_kept(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient, database_url: URL
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"], "greenhouse")
    payload = builders.greenhouse_application(1, 2, 3)
    for action in ("job_created", "new_candidate_application"):  # ignored; dead (no job 3)
        headers, body = builders.greenhouse_delivery(source["secret"], action, payload)
        assert (
            await vendor.post(_deliver(source), content=body, headers=headers)
        ).status_code == 202
    await builders.hris_events_settled(services.talent, source["id"])
    db = Database(Settings.with_database(as_service(database_url)), "test")
    try:
        keeping = Processor(db, apply_to_pipeline, poll_interval=60)
        assert await keeping.tidy() == 0
        forgetting = Processor(db, apply_to_pipeline, poll_interval=60, body_retention=timedelta(0))
        assert await forgetting.tidy() == 1
    finally:
        await db.dispose()
    assert await _bodies(database_url, source["id"]) == {
        "job_created:ignored": False,
        "new_candidate_application:dead": True,
    }
    assert [e["status"] for e in await _events(services, source["id"])] == ["ignored", "dead"]


async def test_erasing_a_candidate_forgets_what_the_source_sent_about_them(
    services: Services, engagement: dict[str, Any], vendor: httpx.AsyncClient, database_url: URL
) -> None:
    source = await builders.create_hris_source(services.talent, engagement["id"], "greenhouse")
    for candidate, action in (
        (2, "new_candidate_application"),
        (2, "candidate_stage_change"),
        (9, "new_candidate_application"),
    ):
        payload = builders.greenhouse_application(candidate * 10, candidate, 3)
        headers, body = builders.greenhouse_delivery(source["secret"], action, payload)
        assert (
            await vendor.post(_deliver(source), content=body, headers=headers)
        ).status_code == 202
    before = await _events(services, source["id"])
    # The candidate as the pipeline keeps them once the source's deliveries are applied.
    (candidate,) = await fetch(
        database_url,
        "INSERT INTO talent.candidates (engagement_id, client_id, partner_id, source_id,"
        " external_id, name) VALUES ($1, $2, $3, $4, '2', 'Ana Lima') RETURNING id",
        engagement["id"],
        engagement["client_id"],
        engagement["partner_id"],
        source["id"],
    )
    erased = await services.talent.post(f"/v1/candidates/{candidate['id']}/erasure")
    assert erased.status_code == 200, erased.text
    rows = await fetch(
        database_url,
        "SELECT candidate_ref, body IS NOT NULL AS kept, headers FROM talent.hris_events"
        " WHERE source_id = $1 ORDER BY id",
        source["id"],
    )
    assert [(row["candidate_ref"], row["kept"]) for row in rows] == [
        (None, False),
        (None, False),
        ("9", True),
    ]
    assert [e["id"] for e in await _events(services, source["id"])] == [e["id"] for e in before]


async def _received_events(database_url: URL, count: int) -> None:
    """`count` canonical events of a new source, received and waiting for the processor."""
    (source,) = await fetch(
        database_url,
        "INSERT INTO talent.hris_sources (engagement_id, client_id, partner_id, name, vendor,"
        " secret_sealed) VALUES (uuidv7(), uuidv7(), uuidv7(), 'feed', 'ashby', 'sealed')"
        " RETURNING id, client_id, partner_id",
    )
    for n in range(count):
        body = json.dumps(
            {
                "kind": "application.created",
                "event_id": f"e{n}",
                "occurred_at": "2025-03-01T09:00:00Z",
                "candidate": {"external_id": f"c{n}"},
                "application_id": f"a{n}",
                "job_id": "j",
            }
        ).encode()
        await fetch(
            database_url,
            "INSERT INTO talent.hris_events (source_id, client_id, partner_id, event_id, channel,"
            " action, status, headers, body) VALUES ($1, $2, $3, $4, 'batch',"
            " 'application.created', 'received', '{}', $5)",
            source["id"],
            source["client_id"],
            source["partner_id"],
            f"e{n}",
            body,
        )


async def test_an_event_whose_processing_keeps_failing_is_buried_and_does_not_hold_back_the_rest(
    database_url: URL,
) -> None:
    await _received_events(database_url, 2)
    applied = []

    async def apply(session: Any, publisher: Any, source: Any, event: Any) -> None:
        if event.event_id == "e0":  # as a dropped connection would, every time
            raise ConnectionResetError("connection reset by peer")
        applied.append(event.event_id)

    db = Database(Settings.with_database(as_service(database_url)), "test")
    try:
        async with Processor(db, apply, poll_interval=0.02).running():
            deadline = time.monotonic() + 10
            while True:
                rows = await fetch(
                    database_url,
                    "SELECT id, status, reason, attempts FROM talent.hris_events ORDER BY id",
                )
                if all(row["status"] != "received" for row in rows):
                    break
                assert time.monotonic() < deadline, rows
                await asyncio.sleep(0.05)
    finally:
        await db.dispose()
    buried, later = rows
    assert (buried["status"], buried["attempts"]) == ("dead", 1)
    assert buried["reason"].startswith("Processing failed 5 times: ")
    assert (later["status"], applied) == ("applied", ["e1"])


async def test_a_processor_that_cannot_listen_applies_by_polling(
    database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _received_events(database_url, 1)

    async def refuse(*_: object) -> None:
        raise asyncpg.InterfaceError("the connection was lost")

    monkeypatch.setattr(asyncpg.Connection, "add_listener", refuse)
    applied = []

    async def apply(session: Any, publisher: Any, source: Any, event: Any) -> None:
        applied.append(event.event_id)

    db = Database(Settings.with_database(as_service(database_url)), "test")
    try:
        async with Processor(db, apply, poll_interval=0.05).running():
            deadline = time.monotonic() + 10
            while not applied:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
    finally:
        await db.dispose()
    assert applied == ["e0"]


async def test_a_burst_of_deliveries_wakes_the_processors_at_once_then_once_per_interval(
    database_url: URL,
) -> None:
    db = Database(Settings.with_database(as_service(database_url)), application_name="test")
    listener = await asyncpg.connect(dsn(database_url))
    notified: asyncio.Queue[float] = asyncio.Queue()
    await listener.add_listener(CHANNEL, lambda *_: notified.put_nowait(time.monotonic()))
    wakeup = ProcessorWakeup(interval=0.3)
    try:
        async with wakeup.running(db), asyncio.timeout(10):
            burst_at = time.monotonic()
            for _ in range(50):
                wakeup.wake()
            first = await notified.get()
            for _ in range(50):
                wakeup.wake()
            second = await notified.get()
            await asyncio.sleep(0.5)  # longer than the interval: nothing more is due
    finally:
        await listener.close()
        await db.dispose()
    assert notified.empty()
    assert first - burst_at < 1  # at once, not at the processors' next poll
    # The second burst, within the interval, is told once, when the interval ends.
    assert second - first >= 0.25
