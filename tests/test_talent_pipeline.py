"""The hiring pipeline through the API: roles, requisitions, candidates and applications, team
members and their employment, and the facts each change tells kpi."""

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from handover_kit.credentials import ServiceAuth
from handover_talent.config import Settings
from handover_talent.main import create_app
from tests import builders
from tests.conftest import Services, as_service
from tests.identity import SERVICE_SETTINGS
from tests.sql import fetch

PARTNER_ENTITY = str(uuid4())
CLIENT_ENTITY = str(uuid4())
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Hiring:
    """Talent, reaching the real engagements service through a transport that can overlay what
    it says of an engagement (its entities, whether it hires)."""

    talent: httpx.AsyncClient
    engagements: httpx.AsyncClient
    kpi: httpx.AsyncClient
    app: Any
    stack: AsyncExitStack
    overlay: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def engagement(self, **overlay: Any) -> dict[str, Any]:
        engagement = await builders.create_engagement(self.engagements)
        self.overlay[engagement["id"]] = {
            "partner_entity_id": PARTNER_ENTITY,
            "client_entity_id": CLIENT_ENTITY,
            "hiring_open": True,
            **overlay,
        }
        return engagement


@pytest.fixture
async def hiring(services: Services, database_url: URL) -> AsyncIterator[Hiring]:
    overlay: dict[str, dict[str, Any]] = {}
    real = httpx.ASGITransport(app=services.apps["engagements"])

    async def engagements(request: httpx.Request) -> httpx.Response:
        response = await real.handle_async_request(request)
        parts = request.url.path.split("/")
        if (
            request.url.path.startswith("/internal/v1/engagements/")
            and len(parts) == 5
            and response.status_code == 200
            and parts[4] in overlay
        ):
            await response.aread()
            return httpx.Response(200, json={**response.json(), **overlay[parts[4]]})
        return response

    app = create_app(
        Settings.with_database(as_service(database_url), **SERVICE_SETTINGS),
        transports={
            "engagements": httpx.MockTransport(engagements),
            "kpi": httpx.ASGITransport(app=services.apps["kpi"]),
        },
    )
    async with AsyncExitStack() as stack:
        manager = await stack.enter_async_context(LifespanManager(app))
        talent = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app),
                base_url="http://talent",
                headers={"Authorization": f"Bearer {services.admin_key}"},
            )
        )
        yield Hiring(talent, services.engagements, services.kpi, manager.app, stack, overlay)


async def _told(database_url: URL, *aggregate_ids: str) -> list[tuple[str, dict[str, Any]]]:
    rows = await fetch(
        database_url,
        "SELECT message_type, payload FROM talent.outbox WHERE aggregate_id = ANY($1::uuid[])"
        " ORDER BY id",
        [UUID(a) for a in aggregate_ids],
    )
    return [(row["message_type"], json.loads(row["payload"])) for row in rows]


def _kinds(told: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [kind for kind, _ in told]


async def _draft(hiring: Hiring, engagement_id: str, **overrides: Any) -> dict[str, Any]:
    role = await builders.create_role(hiring.talent, engagement_id)
    response = await hiring.talent.post(
        "/v1/requisitions",
        json={"engagement_id": engagement_id, "role_id": role["id"], "headcount": 1, **overrides},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _candidate(hiring: Hiring, engagement_id: str) -> dict[str, Any]:
    response = await hiring.talent.post(
        "/v1/candidates",
        json={"engagement_id": engagement_id, "name": "Maria Santos", "email": "m@example.com"},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _apply(hiring: Hiring, requisition: dict[str, Any], at: datetime = T0) -> dict[str, Any]:
    candidate = await _candidate(hiring, requisition["engagement_id"])
    response = await hiring.talent.post(
        "/v1/applications",
        json={
            "candidate_id": candidate["id"],
            "requisition_id": requisition["id"],
            "occurred_at": at.isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _move(
    hiring: Hiring, application: dict[str, Any], stage: str, at: datetime, **extra: Any
) -> httpx.Response:
    return await hiring.talent.post(
        f"/v1/applications/{application['id']}/stage-changes",
        json={"stage": stage, "occurred_at": at.isoformat(), **extra},
    )


async def _hire(hiring: Hiring, requisition: dict[str, Any]) -> dict[str, Any]:
    application = await _apply(hiring, requisition)
    hired = await _move(
        hiring, application, "hired", T0 + timedelta(days=20), start_date="2026-04-01"
    )
    assert hired.status_code == 200, hired.text
    members = await hiring.talent.get(
        "/v1/team-members", params={"engagement_id": requisition["engagement_id"]}
    )
    return next(m for m in members.json()["items"] if m["application_id"] == application["id"])


# Roles


async def test_a_role_is_created_with_its_version_as_etag_and_changed_only_with_it(
    hiring: Hiring,
) -> None:
    engagement = await hiring.engagement()
    created = await hiring.talent.post("/v1/roles", json=builders.role(engagement["id"]))
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    assert created.json()["ready_to_hire"] is True
    location = created.headers["location"]
    assert (await hiring.talent.get(location)).json() == created.json()

    change: dict[str, list[str]] = {"success_criteria": []}
    assert (await hiring.talent.patch(location, json=change)).status_code == 428
    stale = await hiring.talent.patch(location, json=change, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    changed = await hiring.talent.patch(location, json=change, headers={"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    assert changed.json()["ready_to_hire"] is False
    assert changed.json()["title"] == "Claims analyst"


@pytest.mark.parametrize(
    "band",
    [
        {"salary_min": 900001, "salary_max": 900000},
        {"salary_currency": None, "salary_min": 1},
        {"salary_currency": "pesos"},
    ],
    ids=["min-over-max", "amount-without-currency", "not-a-currency"],
)
async def test_a_role_whose_salary_band_is_not_one_is_refused(
    hiring: Hiring, band: dict[str, Any]
) -> None:
    engagement = await hiring.engagement()
    response = await hiring.talent.post("/v1/roles", json=builders.role(engagement["id"], **band))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_change_that_would_break_the_salary_band_is_refused(hiring: Hiring) -> None:
    engagement = await hiring.engagement()
    role = await builders.create_role(hiring.talent, engagement["id"])
    response = await hiring.talent.patch(
        f"/v1/roles/{role['id']}", json={"salary_min": 950000}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/invalid-salary-band"


async def test_a_role_of_an_unknown_engagement_is_refused(hiring: Hiring) -> None:
    response = await hiring.talent.post("/v1/roles", json=builders.role(str(uuid4())))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "engagement_id"]


# Requisitions


async def test_creating_a_requisition_tells_nothing_and_opening_it_tells_kpi_once(
    hiring: Hiring, database_url: URL
) -> None:
    engagement = await hiring.engagement()
    requisition = await _draft(hiring, engagement["id"], headcount=2)
    assert requisition["status"] == "draft"
    assert requisition["title"] == "Claims analyst"
    assert await _told(database_url, requisition["id"]) == []

    path = f"/v1/requisitions/{requisition['id']}/transitions"
    opened = await hiring.talent.post(path, json={"status": "open"})
    assert opened.status_code == 200, opened.text
    assert opened.json()["opened_at"] is not None
    await hiring.talent.post(path, json={"status": "on_hold"})
    again = await hiring.talent.post(path, json={"status": "open"})
    assert again.json()["opened_at"] == opened.json()["opened_at"]

    told = await _told(database_url, requisition["id"])
    assert _kinds(told) == ["talent.requisition_opened"]
    assert told[0][1]["headcount"] == 2
    assert datetime.fromisoformat(told[0][1]["opened_at"]) == datetime.fromisoformat(
        opened.json()["opened_at"]
    )


async def test_a_requisition_does_not_open_for_a_role_without_responsibilities_and_criteria(
    hiring: Hiring, database_url: URL
) -> None:
    engagement = await hiring.engagement()
    role = await builders.create_role(
        hiring.talent, engagement["id"], responsibilities=[], success_criteria=[]
    )
    created = await hiring.talent.post(
        "/v1/requisitions",
        json={"engagement_id": engagement["id"], "role_id": role["id"], "headcount": 1},
    )
    response = await hiring.talent.post(
        f"/v1/requisitions/{created.json()['id']}/transitions", json={"status": "open"}
    )
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/role-not-ready"
    assert response.json()["missing"] == ["responsibilities", "success_criteria"]
    assert "responsibilities and success_criteria" in response.json()["detail"]
    assert await _told(database_url, created.json()["id"]) == []


async def test_a_requisition_without_a_role_does_not_open(hiring: Hiring) -> None:
    engagement = await hiring.engagement()
    created = await hiring.talent.post(
        "/v1/requisitions",
        json={"engagement_id": engagement["id"], "title": "Analyst", "headcount": 1},
    )
    response = await hiring.talent.post(
        f"/v1/requisitions/{created.json()['id']}/transitions", json={"status": "open"}
    )
    assert response.status_code == 422
    assert response.json()["missing"] == ["role_id"]


async def test_a_requisition_does_not_open_when_the_engagement_does_not_hire(
    hiring: Hiring,
) -> None:
    engagement = await hiring.engagement(hiring_open=False)
    requisition = await _draft(hiring, engagement["id"])
    response = await hiring.talent.post(
        f"/v1/requisitions/{requisition['id']}/transitions", json={"status": "open"}
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/hiring-closed"


async def test_a_move_the_status_does_not_allow_is_a_conflict_listing_the_allowed_ones(
    hiring: Hiring,
) -> None:
    engagement = await hiring.engagement()
    requisition = await _draft(hiring, engagement["id"])
    path = f"/v1/requisitions/{requisition['id']}/transitions"
    held = await hiring.talent.post(path, json={"status": "on_hold"})
    assert held.status_code == 409
    assert held.json()["allowed"] == ["cancelled", "open"]
    filled = await hiring.talent.post(path, json={"status": "filled"})
    assert filled.status_code == 409
    assert (await hiring.talent.post(path, json={"status": "cancelled"})).status_code == 200
    reopened = await hiring.talent.post(path, json={"status": "open"})
    assert reopened.status_code == 409
    assert reopened.json()["allowed"] == []


async def test_an_external_job_id_names_one_requisition_per_engagement(hiring: Hiring) -> None:
    engagement = await hiring.engagement()
    await _draft(hiring, engagement["id"], external_job_id="GH-4012")
    second = await hiring.talent.post(
        "/v1/requisitions",
        json={
            "engagement_id": engagement["id"],
            "title": "Analyst",
            "headcount": 1,
            "external_job_id": "GH-4012",
        },
    )
    assert second.status_code == 409
    assert second.json()["errors"][0]["loc"] == ["body", "external_job_id"]
    other = await hiring.engagement()
    assert (await _draft(hiring, other["id"], external_job_id="GH-4012"))["status"] == "draft"


async def test_a_requisition_changes_only_with_the_version_it_was_read_at(hiring: Hiring) -> None:
    engagement = await hiring.engagement()
    requisition = await _draft(hiring, engagement["id"])
    path = f"/v1/requisitions/{requisition['id']}"
    read = await hiring.talent.get(path)
    assert read.headers["etag"] == '"1"'
    changed = await hiring.talent.patch(
        path, json={"headcount": 4, "external_job_id": "job-9"}, headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["headcount"], changed.json()["external_job_id"]) == (4, "job-9")
    stale = await hiring.talent.patch(path, json={"headcount": 5}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412


# Candidates and applications


async def test_an_application_keeps_its_history_and_exact_time_in_each_stage(
    hiring: Hiring,
) -> None:
    engagement = await hiring.engagement()
    requisition = await builders.open_requisition(hiring.talent, engagement["id"])
    application = await _apply(hiring, requisition)
    assert application["stage"] == "sourced"
    await _move(hiring, application, "screening", T0 + timedelta(hours=5))
    moved = await _move(hiring, application, "interview", T0 + timedelta(days=2, hours=5))
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["stage"] == "interview"
    assert [(p["stage"], p["seconds"]) for p in body["periods"]] == [
        ("sourced", 5 * 3600),
        ("screening", 2 * 86400),
        ("interview", None),
    ]
    assert [h["kind"] for h in body["history"]] == [
        "application.created",
        "application.stage_changed",
        "application.stage_changed",
    ]
    assert {h["source"] for h in body["history"]} == {"api"}
    assert all(h["actor"].startswith("api_key:") for h in body["history"])


async def test_a_stage_change_told_late_takes_its_place_in_the_history(hiring: Hiring) -> None:
    engagement = await hiring.engagement()
    requisition = await builders.open_requisition(hiring.talent, engagement["id"])
    application = await _apply(hiring, requisition)
    await _move(hiring, application, "interview", T0 + timedelta(days=3))
    late = await _move(hiring, application, "screening", T0 + timedelta(days=1))
    assert late.json()["stage"] == "interview"
    assert [p["stage"] for p in late.json()["periods"]] == ["sourced", "screening", "interview"]


async def test_a_hire_makes_a_team_member_fills_the_requisition_and_tells_every_fact(
    hiring: Hiring, database_url: URL
) -> None:
    engagement = await hiring.engagement()
    requisition = await builders.open_requisition(hiring.talent, engagement["id"])
    application = await _apply(hiring, requisition)
    await _move(hiring, application, "offer", T0 + timedelta(days=10))
    await _move(hiring, application, "offer", T0 + timedelta(days=12), offer_accepted=True)
    hired = await _move(
        hiring, application, "hired", T0 + timedelta(days=14), start_date="2026-04-01"
    )
    assert hired.status_code == 200, hired.text
    assert hired.json()["offer_accepted"] is True
    opened_at = datetime.fromisoformat(requisition["opened_at"])
    assert hired.json()["time_to_hire_seconds"] == int(
        (T0 + timedelta(days=14) - opened_at).total_seconds()
    )

    members = (
        await hiring.talent.get("/v1/team-members", params={"engagement_id": engagement["id"]})
    ).json()["items"]
    assert len(members) == 1
    member = members[0]
    assert member["status"] == "onboarding"
    assert member["employer_entity_id"] == PARTNER_ENTITY
    assert member["start_date"] == "2026-04-01"
    assert member["title"] == "Claims analyst"
    filled = (await hiring.talent.get(f"/v1/requisitions/{requisition['id']}")).json()
    assert (filled["status"], filled["hired"]) == ("filled", 1)

    told = await _told(
        database_url, requisition["id"], application["id"], member["id"], engagement["id"]
    )
    assert _kinds(told) == [
        "talent.requisition_opened",
        "talent.offer_made",
        "talent.offer_decided",
        "talent.member_hired",
        "talent.headcount_changed",
        "talent.requisition_filled",
    ]
    facts = dict(told)
    assert facts["talent.offer_decided"]["accepted"] is True
    assert facts["talent.headcount_changed"]["headcount"] == 1
    assert facts["talent.member_hired"]["requisition_id"] == requisition["id"]

    await builders.facts_delivered(hiring.talent)
    received = await fetch(database_url, "SELECT message_type FROM kpi.inbox")
    assert {row["message_type"] for row in received} >= set(_kinds(told))


async def test_a_hire_needs_a_start_date_and_stands_once_made(hiring: Hiring) -> None:
    engagement = await hiring.engagement()
    requisition = await builders.open_requisition(hiring.talent, engagement["id"], headcount=2)
    application = await _apply(hiring, requisition)
    without = await _move(hiring, application, "hired", T0 + timedelta(days=1))
    assert without.status_code == 422
    await _move(hiring, application, "hired", T0 + timedelta(days=1), start_date="2026-04-01")
    back = await _move(hiring, application, "interview", T0 + timedelta(days=2))
    assert back.status_code == 409


async def test_a_hire_where_the_engagement_names_no_partner_entity_is_employed_by_no_one_yet(
    hiring: Hiring,
) -> None:
    engagement = await hiring.engagement(partner_entity_id=None)
    requisition = await builders.open_requisition(hiring.talent, engagement["id"])
    member = await _hire(hiring, requisition)
    assert member["employer_entity_id"] is None


async def test_an_application_refuses_a_candidate_of_another_engagement(hiring: Hiring) -> None:
    engagement = await hiring.engagement()
    other = await hiring.engagement()
    requisition = await builders.open_requisition(hiring.talent, engagement["id"])
    stranger = await _candidate(hiring, other["id"])
    response = await hiring.talent.post(
        "/v1/applications",
        json={"candidate_id": stranger["id"], "requisition_id": requisition["id"]},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "requisition_id"]


async def test_erasing_a_candidate_blanks_the_person_and_keeps_the_facts(hiring: Hiring) -> None:
    engagement = await hiring.engagement()
    requisition = await builders.open_requisition(hiring.talent, engagement["id"])
    application = await _apply(hiring, requisition)
    await _move(hiring, application, "screening", T0 + timedelta(days=1))
    path = f"/v1/candidates/{application['candidate_id']}"
    erased = await hiring.talent.post(f"{path}/erasure")
    assert erased.status_code == 200, erased.text
    assert (erased.json()["name"], erased.json()["email"]) == (None, None)
    assert erased.json()["erased_at"] is not None
    assert (await hiring.talent.post(f"{path}/erasure")).json() == erased.json()
    kept = (await hiring.talent.get(f"/v1/applications/{application['id']}")).json()
    assert kept["stage"] == "screening"
    assert len(kept["history"]) == 2


async def test_applications_page_in_a_stable_order_and_filter_by_stage(hiring: Hiring) -> None:
    engagement = await hiring.engagement()
    requisition = await builders.open_requisition(hiring.talent, engagement["id"], headcount=5)
    applications = [await _apply(hiring, requisition) for _ in range(3)]
    await _move(hiring, applications[1], "screening", T0 + timedelta(days=1))
    seen = await builders.every_item(
        hiring.talent, "/v1/applications", limit=2, requisition_id=requisition["id"]
    )
    assert [item["id"] for item in seen] == [a["id"] for a in applications]
    screening = await hiring.talent.get(
        "/v1/applications", params={"requisition_id": requisition["id"], "stage": "screening"}
    )
    assert [item["id"] for item in screening.json()["items"]] == [applications[1]["id"]]


# Team members


async def test_onboarding_and_termination_are_recorded_and_told(
    hiring: Hiring, database_url: URL
) -> None:
    engagement = await hiring.engagement()
    requisition = await builders.open_requisition(hiring.talent, engagement["id"])
    member = await _hire(hiring, requisition)
    path = f"/v1/team-members/{member['id']}"
    onboarded = await hiring.talent.post(
        f"{path}/onboarding-completion", json={"completed_on": "2026-04-20"}
    )
    assert onboarded.status_code == 200, onboarded.text
    assert (onboarded.json()["status"], onboarded.json()["onboarded_on"]) == (
        "active",
        "2026-04-20",
    )
    again = await hiring.talent.post(
        f"{path}/onboarding-completion", json={"completed_on": "2026-04-21"}
    )
    assert again.status_code == 409
    left = await hiring.talent.post(
        f"{path}/termination",
        json={"terminated_on": "2026-09-30", "voluntary": False, "reason": "Performance"},
    )
    assert left.status_code == 200, left.text
    assert left.json()["status"] == "terminated"
    assert (left.json()["voluntary"], left.json()["termination_reason"]) == (False, "Performance")
    twice = await hiring.talent.post(
        f"{path}/termination", json={"terminated_on": "2026-10-01", "voluntary": True}
    )
    assert twice.status_code == 409

    told = await _told(database_url, member["id"], engagement["id"])
    assert _kinds(told) == [
        "talent.member_hired",
        "talent.headcount_changed",
        "talent.onboarding_completed",
        "talent.member_terminated",
        "talent.headcount_changed",
    ]
    facts = [payload for _, payload in told]
    assert facts[3]["voluntary"] is False
    assert (facts[1]["headcount"], facts[4]["headcount"]) == (1, 0)


async def test_a_transfer_moves_contracts_to_the_clients_entity_and_records_each_move(
    hiring: Hiring, services: Services
) -> None:
    engagement = await hiring.engagement()
    requisition = await builders.open_requisition(hiring.talent, engagement["id"], headcount=2)
    first = await _hire(hiring, requisition)
    second = await _hire(hiring, requisition)
    internal = await _internal(hiring, services)
    employment = f"/internal/v1/engagements/{engagement['id']}/employment"
    before = (await internal.get(employment, params={"employer_entity_id": CLIENT_ENTITY})).json()
    assert (before["active_members"], before["moved"]) == (2, 0)
    assert sorted(before["not_moved"]) == sorted([first["id"], second["id"]])

    response = await hiring.talent.post(
        "/v1/employment-transfers",
        json={
            "engagement_id": engagement["id"],
            "team_member_ids": [first["id"], second["id"]],
            "effective_date": "2027-01-01",
        },
    )
    assert response.status_code == 201, response.text
    transfer = response.json()
    assert transfer["to_entity_id"] == CLIENT_ENTITY
    assert sorted(
        (t["team_member_id"], t["from_entity_id"], t["to_entity_id"], t["effective_date"])
        for t in transfer["transitions"]
    ) == sorted((m["id"], PARTNER_ENTITY, CLIENT_ENTITY, "2027-01-01") for m in (first, second))
    assert (await hiring.talent.get(response.headers["location"])).json() == transfer
    after = (await internal.get(employment, params={"employer_entity_id": CLIENT_ENTITY})).json()
    assert (after["moved"], after["not_moved"]) == (2, [])

    repeated = await hiring.talent.post(
        "/v1/employment-transfers",
        json={
            "engagement_id": engagement["id"],
            "team_member_ids": [first["id"]],
            "effective_date": "2027-01-01",
        },
    )
    assert repeated.status_code == 201
    assert repeated.json()["transitions"] == []


async def test_a_transfer_without_a_client_entity_or_with_a_stranger_is_refused(
    hiring: Hiring,
) -> None:
    engagement = await hiring.engagement(client_entity_id=None)
    requisition = await builders.open_requisition(hiring.talent, engagement["id"])
    member = await _hire(hiring, requisition)
    body = {
        "engagement_id": engagement["id"],
        "team_member_ids": [member["id"]],
        "effective_date": "2027-01-01",
    }
    refused = await hiring.talent.post("/v1/employment-transfers", json=body)
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/no-employing-entity"

    other = await hiring.engagement()
    stranger = await hiring.talent.post(
        "/v1/employment-transfers", json={**body, "engagement_id": other["id"]}
    )
    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["loc"] == ["body", "team_member_ids", 0]
    assert (await hiring.talent.get(f"/v1/team-members/{member['id']}")).json()[
        "employer_entity_id"
    ] == PARTNER_ENTITY


async def _internal(hiring: Hiring, services: Services) -> httpx.AsyncClient:
    """Talent as the engagements service calls it."""
    settings = Settings.with_database("postgresql://unused/unused")
    auth = ServiceAuth("engagements", settings.signing_key("engagements"), audience="talent")
    return await hiring.stack.enter_async_context(
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=hiring.app), base_url="http://talent", auth=auth
        )
    )


async def test_hiring_progress_counts_members_and_unfilled_positions(
    hiring: Hiring, services: Services
) -> None:
    engagement = await hiring.engagement()
    requisition = await builders.open_requisition(hiring.talent, engagement["id"], headcount=3)
    await _draft(hiring, engagement["id"], headcount=2)
    await _hire(hiring, requisition)
    internal = await _internal(hiring, services)
    progress = await internal.get(f"/internal/v1/engagements/{engagement['id']}/hiring-progress")
    assert progress.status_code == 200, progress.text
    assert progress.json() == {
        "engagement_id": engagement["id"],
        "active_members": 1,
        "open_requisitions": 2,
        "unfilled_positions": 4,
    }
    as_person = await hiring.talent.get(
        f"/internal/v1/engagements/{engagement['id']}/hiring-progress"
    )
    assert as_person.status_code == 403


async def test_team_members_filter_by_status_and_employer(hiring: Hiring) -> None:
    engagement = await hiring.engagement()
    requisition = await builders.open_requisition(hiring.talent, engagement["id"], headcount=3)
    staying, leaving = await _hire(hiring, requisition), await _hire(hiring, requisition)
    await hiring.talent.post(
        f"/v1/team-members/{leaving['id']}/termination",
        json={"terminated_on": "2026-05-31", "voluntary": True},
    )

    async def listed(**params: str) -> list[str]:
        response = await hiring.talent.get(
            "/v1/team-members", params={"engagement_id": engagement["id"], **params}
        )
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await listed() == [staying["id"], leaving["id"]]
    assert await listed(status="onboarding") == [staying["id"]]
    assert await listed(status="terminated") == [leaving["id"]]
    assert await listed(employer_entity_id=PARTNER_ENTITY) == [staying["id"], leaving["id"]]
    assert await listed(employer_entity_id=CLIENT_ENTITY) == []
    assert (await hiring.talent.get(f"/v1/team-members/{uuid4()}")).status_code == 404


@dataclass
class Greenhouse:
    """One candidate's application to an opened requisition, as Greenhouse tells it: each
    delivery is applied and its facts delivered to kpi before the next."""

    hiring: Hiring
    engagement: dict[str, Any]
    requisition: dict[str, Any]
    source: dict[str, Any]

    @classmethod
    async def start(cls, hiring: Hiring) -> "Greenhouse":
        engagement = await hiring.engagement()
        requisition = await builders.open_requisition(
            hiring.talent, engagement["id"], external_job_id="4013"
        )
        source = await builders.create_hris_source(hiring.talent, engagement["id"], "greenhouse")
        return cls(hiring, engagement, requisition, source)

    def day(self, days: int) -> datetime:
        """`days` after the requisition opened."""
        return datetime.fromisoformat(self.requisition["opened_at"]) + timedelta(days=days)

    async def push(self, action: str, days: int, stage: str = "Offer") -> None:
        payload = builders.greenhouse_application(
            102,
            202,
            4013,
            stage=stage,
            starts_at="2027-01-04",
            last_activity_at=self.day(days).isoformat(),
        )
        headers, body = builders.greenhouse_delivery(self.source["secret"], action, payload)
        talent = self.hiring.talent
        response = await talent.post(self.source["webhook_path"], content=body, headers=headers)
        assert response.status_code == 202, response.text
        await builders.hris_events_settled(talent, self.source["id"])
        await builders.facts_delivered(talent)

    async def member(self) -> dict[str, Any]:
        response = await self.hiring.talent.get(
            "/v1/team-members", params={"engagement_id": self.engagement["id"]}
        )
        (member,) = response.json()["items"]
        return dict(member)

    async def time_to_hire(self) -> list[float]:
        response = await self.hiring.kpi.get(
            "/v1/data-points",
            params={"engagement_id": self.engagement["id"], "metric_key": "time_to_hire"},
        )
        assert response.status_code == 200, response.text
        return [point["value"] for point in response.json()["items"]]


async def test_a_hire_greenhouse_takes_back_is_told_once_and_leaves_time_to_hire_until_rehired(
    hiring: Hiring, database_url: URL
) -> None:
    greenhouse = await Greenhouse.start(hiring)
    await greenhouse.push("new_candidate_application", 1, stage="Application Review")
    await greenhouse.push("hire_candidate", 10)
    assert await greenhouse.time_to_hire() == [10.0]

    await greenhouse.push("unhire_candidate", 12)
    await greenhouse.push("unhire_candidate", 13)  # said again: nothing more to take back
    member = await greenhouse.member()
    assert member["status"] == "reversed"
    assert await greenhouse.time_to_hire() == []
    told = await _told(database_url, member["id"])
    assert _kinds(told) == ["talent.member_hired", "talent.hire_reversed"]
    reversal = told[1][1]
    assert reversal["hired_at"] == told[0][1]["hired_at"]
    assert datetime.fromisoformat(reversal["reversed_at"]) == greenhouse.day(12)

    await greenhouse.push("hire_candidate", 20)
    assert (await greenhouse.member())["status"] == "onboarding"
    assert await greenhouse.time_to_hire() == [20.0]
    assert _kinds(await _told(database_url, member["id"])) == [
        "talent.member_hired",
        "talent.hire_reversed",
        "talent.member_hired",
    ]


async def test_a_late_unhire_between_two_hires_takes_back_the_first_and_tells_the_second(
    hiring: Hiring, database_url: URL
) -> None:
    greenhouse = await Greenhouse.start(hiring)
    await greenhouse.push("new_candidate_application", 1, stage="Application Review")
    await greenhouse.push("hire_candidate", 10)
    await greenhouse.push("hire_candidate", 20)  # a hire stands: the second changes nothing yet
    assert await greenhouse.time_to_hire() == [10.0]

    await greenhouse.push("unhire_candidate", 15)
    member = await greenhouse.member()
    assert (member["status"], datetime.fromisoformat(member["hired_at"])) == (
        "onboarding",
        greenhouse.day(20),
    )
    told = await _told(database_url, member["id"])
    assert _kinds(told) == ["talent.member_hired", "talent.hire_reversed", "talent.member_hired"]
    assert datetime.fromisoformat(told[1][1]["hired_at"]) == greenhouse.day(10)
    assert datetime.fromisoformat(told[1][1]["reversed_at"]) == greenhouse.day(15)
    assert await greenhouse.time_to_hire() == [20.0]
