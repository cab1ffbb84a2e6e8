"""An engagement's lifecycle through the API: creation with its terms and transfer plan, the
phases of each delivery model and their gates, optimistic concurrency, idempotent creates, the
timeline and the audit trail.

The gates ask talent and kpi. Most tests drive them with a double that speaks the shared
contract (`handover_shared.talent`, `handover_shared.kpi`) through the engagements app's
`transports`, so each criterion can be set at will and either service taken down; one test runs
a BOT engagement end to end on the answers of the real talent and kpi services.
"""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from alembic import command
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from handover_engagements.access.bootstrap import create_platform_key
from handover_engagements.config import Settings as EngagementsSettings
from handover_engagements.db import MIGRATIONS
from handover_engagements.main import create_app as create_engagements
from handover_kit.app import IDENTITY_PROVIDER
from handover_kit.db import dsn
from handover_kit.migrations import upgrade
from handover_kpi.config import Settings as KpiSettings
from handover_kpi.main import create_app as create_kpi
from handover_shared.engagements import Phase
from handover_shared.kpi import (
    TRANSFER_READINESS_PATH,
    MetricStatus,
    MetricVerdict,
    TransferReadiness,
)
from handover_shared.talent import (
    EMPLOYMENT_PATH,
    HIRING_PROGRESS_PATH,
    EmploymentStatus,
    HiringProgress,
)
from handover_talent.config import Settings as TalentSettings
from handover_talent.main import create_app as create_talent
from handover_tools import demo
from tests import builders
from tests.conftest import Services, as_service
from tests.identity import SERVICE_SETTINGS, IdentityProvider


def _route(template: str) -> re.Pattern[str]:
    return re.compile("^" + template.replace("{engagement_id}", "(?P<engagement_id>[^/]+)") + "$")


@dataclass
class Upstreams:
    """What talent and kpi know, answered as they answer the gates' questions."""

    active_members: dict[str, int] = field(default_factory=dict)
    open_requisitions: dict[str, int] = field(default_factory=dict)
    employer: dict[str, str] = field(default_factory=dict)
    """Engagement -> the legal entity employing all of its active members."""
    ready: dict[str, bool] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    asked: list[str] = field(default_factory=list)

    def hire(self, engagement_id: str, members: int, *, open_requisitions: int = 0) -> None:
        self.active_members[engagement_id] = members
        self.open_requisitions[engagement_id] = open_requisitions

    def move_employment(self, engagement_id: str, entity_id: str) -> None:
        self.employer[engagement_id] = entity_id

    def pass_readiness(self, engagement_id: str) -> None:
        self.ready[engagement_id] = True

    def transports(self) -> dict[str, httpx.AsyncBaseTransport]:
        return {"talent": httpx.MockTransport(self._talent), "kpi": httpx.MockTransport(self._kpi)}

    def _talent(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(f"talent {request.url.path}")
        if "talent" in self.down:
            return httpx.Response(503)
        if match := _route(HIRING_PROGRESS_PATH).match(request.url.path):
            engagement = match["engagement_id"]
            progress = HiringProgress(
                engagement_id=UUID(engagement),
                active_members=self.active_members.get(engagement, 0),
                open_requisitions=self.open_requisitions.get(engagement, 0),
                unfilled_positions=self.open_requisitions.get(engagement, 0),
            )
            return httpx.Response(200, content=progress.model_dump_json())
        if match := _route(EMPLOYMENT_PATH).match(request.url.path):
            engagement = match["engagement_id"]
            entity = request.url.params["employer_entity_id"]
            active = self.active_members.get(engagement, 0)
            moved = active if self.employer.get(engagement) == entity else 0
            status = EmploymentStatus(
                engagement_id=UUID(engagement),
                employer_entity_id=UUID(entity),
                active_members=active,
                moved=moved,
                not_moved=[uuid4() for _ in range(active - moved)],
            )
            return httpx.Response(200, content=status.model_dump_json())
        return httpx.Response(404)

    def _kpi(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(f"kpi {request.url.path}")
        if "kpi" in self.down:
            return httpx.Response(503)
        if match := _route(TRANSFER_READINESS_PATH).match(request.url.path):
            engagement = match["engagement_id"]
            ready = self.ready.get(engagement, False)
            readiness = TransferReadiness(
                engagement_id=UUID(engagement),
                ready=ready,
                evaluated_at=datetime.now(UTC),
                metrics=[
                    MetricVerdict(
                        metric_key="retention_rate",
                        status=MetricStatus.MET if ready else MetricStatus.MISSED,
                        value=95.0 if ready else 81.0,
                        target=90.0,
                        reason=None if ready else "retention_rate is 81, and the target is 90.",
                    )
                ],
            )
            return httpx.Response(200, content=readiness.model_dump_json())
        return httpx.Response(404)


@dataclass
class Lifecycle:
    api: httpx.AsyncClient
    """The engagements API, as a platform administrator."""
    upstreams: Upstreams
    app: Any


@pytest.fixture
async def lifecycle(
    database_url: URL, identity_provider: IdentityProvider
) -> AsyncIterator[Lifecycle]:
    # The property test sends thousands of requests as one principal.
    settings = EngagementsSettings.with_database(
        as_service(database_url), **SERVICE_SETTINGS, rate_limit="100000/minute"
    )
    admin_key = await create_platform_key(settings, "tests")
    upstreams = Upstreams()
    app = create_engagements(
        settings,
        transports={IDENTITY_PROVIDER: identity_provider.transport(), **upstreams.transports()},
    )
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://engagements",
            headers={"Authorization": f"Bearer {admin_key}"},
        ) as api,
    ):
        yield Lifecycle(api, upstreams, manager.app)


async def _parties(api: httpx.AsyncClient) -> tuple[str, str]:
    client = await builders.create_organization(api, name=f"Client {uuid4()}")
    partner = await builders.create_organization(api, name=f"Partner {uuid4()}", kind="partner")
    return client["id"], partner["id"]


async def _entity(api: httpx.AsyncClient, organization_id: str, country: str) -> str:
    response = await api.post(
        f"/v1/organizations/{organization_id}/entities",
        json={
            "name": f"Entity {uuid4()}",
            "country": country,
            "registration_number": uuid4().hex[:12],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _terms(client_id: str, partner_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Claims operations, Manila",
        "client_id": client_id,
        "partner_id": partner_id,
        "delivery_model": "bot",
        "business_functions": ["healthcare_billing", "back_office"],
        "destination_country": "PH",
        "site": "Manila",
        "planned_headcount": 3,
        "contract_signed_on": "2025-01-15",
        "planned_phases": {
            "build": {"start": "2025-02-01", "end": "2025-04-30"},
            "operate": {"start": "2025-05-01", "end": "2026-10-31"},
            "transfer": {"start": "2026-11-01", "end": "2027-01-31"},
        },
        "transfer_option": {
            "exercise_window": {"start": "2026-05-01", "end": "2026-10-31"},
            "notice_period_days": 90,
            "fee": {"amount": "250000.00", "currency": "USD"},
        },
        **overrides,
    }


async def _create(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    client_id, partner_id = await _parties(api)
    response = await api.post("/v1/engagements", json=_terms(client_id, partner_id, **overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _move(
    api: httpx.AsyncClient, engagement: dict[str, Any], to_phase: str, **extra: Any
) -> httpx.Response:
    current = await api.get(f"/v1/engagements/{engagement['id']}")
    return await api.post(
        f"/v1/engagements/{engagement['id']}/transitions",
        json={"to_phase": to_phase, **extra},
        headers={"If-Match": current.headers["etag"]},
    )


async def _patch(
    api: httpx.AsyncClient, engagement_id: str, body: dict[str, Any]
) -> httpx.Response:
    current = await api.get(f"/v1/engagements/{engagement_id}")
    return await api.patch(
        f"/v1/engagements/{engagement_id}", json=body, headers={"If-Match": current.headers["etag"]}
    )


async def _finish_transfer_items(api: httpx.AsyncClient, engagement_id: str) -> None:
    items = (await api.get(f"/v1/engagements/{engagement_id}/transfer-plan/items")).json()
    for item in items["items"]:
        response = await api.patch(
            f"/v1/engagements/{engagement_id}/transfer-plan/items/{item['id']}",
            json={"status": "done"},
            headers={"If-Match": f'"{item["version"]}"'},
        )
        assert response.status_code == 200, response.text


async def _approve_plan(api: httpx.AsyncClient, engagement_id: str) -> None:
    current = await api.get(f"/v1/engagements/{engagement_id}")
    response = await api.post(
        f"/v1/engagements/{engagement_id}/transfer-plan/approval",
        json={"reason": "Scope agreed at the steering committee."},
        headers={"If-Match": current.headers["etag"]},
    )
    assert response.status_code == 200, response.text


def _unmet(response: httpx.Response) -> set[str]:
    return {criterion["key"] for criterion in response.json()["unmet"]}


async def test_a_bot_engagement_runs_from_build_to_transferred_through_its_gates(
    lifecycle: Lifecycle,
) -> None:
    api, upstreams = lifecycle.api, lifecycle.upstreams
    engagement = await _create(api)
    eid = engagement["id"]
    assert (engagement["phase"], engagement["owner"], engagement["hiring_open"]) == (
        "build",
        "partner",
        True,
    )
    assert engagement["next_phases"] == ["operate", "terminated"]

    # build -> operate: the hiring plan (talent) and the build milestones.
    gate = (await api.get(f"/v1/engagements/{eid}/gates/operate")).json()
    assert gate["passed"] is False
    assert {c["key"]: c["met"] for c in gate["criteria"]} == {
        "hiring_plan_fulfilled": False,
        "build_milestones_done": True,
    }
    refused = await _move(api, engagement, "operate")
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/gate-not-passed"
    assert _unmet(refused) == {"hiring_plan_fulfilled"}
    upstreams.hire(eid, 3, open_requisitions=1)
    assert _unmet(await _move(api, engagement, "operate")) == {"hiring_plan_fulfilled"}
    upstreams.hire(eid, 3)
    moved = await _move(api, engagement, "operate", reason="Team hired.")
    assert moved.status_code == 200, moved.text
    assert moved.json()["phase"] == "operate"
    assert moved.headers["etag"] == '"2"'

    # operate -> transfer: plan approved, the client's destination entity, KPI readiness.
    refused = await _move(api, engagement, "transfer")
    assert _unmet(refused) == {
        "transfer_plan_approved",
        "client_entity_set",
        "transfer_readiness_passed",
    }
    await _approve_plan(api, eid)
    client_entity = await _entity(api, engagement["client_id"], "PH")
    assert (await _patch(api, eid, {"client_entity_id": client_entity})).status_code == 200
    assert _unmet(await _move(api, engagement, "transfer")) == {"transfer_readiness_passed"}
    upstreams.pass_readiness(eid)
    assert (await _move(api, engagement, "transfer")).status_code == 200

    # transfer -> transferred: every plan item done, every member employed by the client.
    refused = await _move(api, engagement, "transferred")
    assert _unmet(refused) == {"transfer_items_done", "employment_moved"}
    await _finish_transfer_items(api, eid)
    upstreams.move_employment(eid, client_entity)
    done = await _move(api, engagement, "transferred", reason="Handed over.")
    assert done.status_code == 200, done.text
    final = done.json()
    assert (final["phase"], final["owner"], final["hiring_open"]) == (
        "transferred",
        "client",
        False,
    )
    assert final["next_phases"] == []

    timeline = (await api.get(f"/v1/engagements/{eid}/timeline")).json()
    today = datetime.now(UTC).date().isoformat()
    by_phase = {row["phase"]: row for row in timeline["phases"]}
    assert list(by_phase) == ["build", "operate", "transfer", "transferred"]
    assert by_phase["build"]["actual_end"] == today
    assert by_phase["operate"]["actual_start"] == today
    assert by_phase["build"]["planned_end"] == "2025-04-30"
    assert by_phase["build"]["end_slippage_days"] > 0

    trail = (await api.get(f"/v1/engagements/{eid}/audit-trail")).json()["items"]
    transitions = [e for e in trail if e["action"] == "engagement.transitioned"]
    assert [e["after"]["phase"] for e in transitions] == ["operate", "transfer", "transferred"]
    assert transitions[-1]["before"]["owner"] == "partner"
    assert transitions[-1]["after"]["owner"] == "client"
    assert transitions[-1]["reason"] == "Handed over."
    assert trail[0]["action"] == "engagement.created"
    assert trail[0]["actor"].startswith("api_key:")


async def test_a_bto_engagement_passes_to_the_client_straight_after_build(
    lifecycle: Lifecycle,
) -> None:
    api, upstreams = lifecycle.api, lifecycle.upstreams
    engagement = await _create(api, delivery_model="bto")
    eid = engagement["id"]
    assert engagement["next_phases"] == ["transfer", "terminated"]
    assert (await _move(api, engagement, "operate")).json()["allowed_transitions"] == [
        "transfer",
        "terminated",
    ]
    refused = await _move(api, engagement, "transfer")
    assert _unmet(refused) == {
        "hiring_plan_fulfilled",
        "transfer_plan_approved",
        "client_entity_set",
    }
    upstreams.hire(eid, 3)
    await _approve_plan(api, eid)
    client_entity = await _entity(api, engagement["client_id"], "PH")
    await _patch(api, eid, {"client_entity_id": client_entity})
    assert (await _move(api, engagement, "transfer")).status_code == 200
    await _finish_transfer_items(api, eid)
    upstreams.move_employment(eid, client_entity)
    final = (await _move(api, engagement, "transferred")).json()
    # The client owns the team; the partner keeps operating it, and hiring for it.
    assert (final["phase"], final["owner"], final["hiring_open"]) == ("transferred", "client", True)


@pytest.mark.parametrize(
    ("model", "path", "illegal"),
    [
        ("bot", [], "transfer"),
        ("bot", [], "transferred"),
        ("bot", [], "managed"),
        ("bot", ["operate"], "build"),
        ("bot", ["operate"], "transferred"),
        ("bto", [], "operate"),
        ("bto", ["transfer"], "managed"),
        ("bot", ["terminated"], "operate"),
        ("bot", ["operate", "managed"], "transfer"),
    ],
)
async def test_an_illegal_transition_is_409_listing_the_allowed_ones(
    lifecycle: Lifecycle, model: str, path: list[str], illegal: str
) -> None:
    api = lifecycle.api
    engagement = await _create(api, delivery_model=model)
    for phase in path:
        reason = {"reason": "Moving on"}
        response = await _move(api, engagement, phase, override=True, **reason)
        assert response.status_code == 200, response.text
    before = (await api.get(f"/v1/engagements/{engagement['id']}")).json()
    response = await _move(api, engagement, illegal)
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/illegal-transition"
    assert problem["allowed_transitions"] == before["next_phases"]
    assert illegal not in problem["allowed_transitions"]
    after = (await api.get(f"/v1/engagements/{engagement['id']}")).json()
    assert after == before


async def test_operate_may_end_in_a_managed_partnership_without_a_gate(
    lifecycle: Lifecycle,
) -> None:
    api = lifecycle.api
    engagement = await _create(api)
    lifecycle.upstreams.hire(engagement["id"], 3)
    assert (await _move(api, engagement, "operate")).status_code == 200
    managed = (await _move(api, engagement, "managed", reason="Option not exercised")).json()
    assert (managed["phase"], managed["owner"], managed["hiring_open"]) == (
        "managed",
        "partner",
        True,
    )
    assert managed["next_phases"] == ["terminated"]


async def test_any_phase_that_has_not_ended_may_be_terminated(lifecycle: Lifecycle) -> None:
    api = lifecycle.api
    engagement = await _create(api)
    terminated = await _move(api, engagement, "terminated", reason="Contract cancelled")
    assert terminated.status_code == 200
    assert terminated.json()["next_phases"] == []
    assert lifecycle.upstreams.asked == []


async def test_a_gate_whose_service_is_down_answers_503_naming_it_and_never_moves(
    lifecycle: Lifecycle,
) -> None:
    api, upstreams = lifecycle.api, lifecycle.upstreams
    engagement = await _create(api)
    upstreams.hire(engagement["id"], 3)
    upstreams.down.add("talent")
    for response in (
        await api.get(f"/v1/engagements/{engagement['id']}/gates/operate"),
        await _move(api, engagement, "operate"),
    ):
        assert response.status_code == 503
        assert response.json()["dependency"] == "talent"
    assert (await api.get(f"/v1/engagements/{engagement['id']}")).json()["phase"] == "build"


async def test_a_platform_admin_overrides_a_gate_with_a_reason_kept_in_the_audit_trail(
    lifecycle: Lifecycle,
) -> None:
    api = lifecycle.api
    engagement = await _create(api)
    without_reason = await _move(api, engagement, "operate", override=True)
    assert without_reason.status_code == 422
    moved = await _move(
        api, engagement, "operate", override=True, reason="Hiring finishes in the first month"
    )
    assert moved.status_code == 200, moved.text
    trail = (await api.get(f"/v1/engagements/{engagement['id']}/audit-trail")).json()["items"]
    override = trail[-1]
    assert override["reason"] == "Hiring finishes in the first month"
    assert override["after"]["gate"]["overridden"] is True
    assert [c["key"] for c in override["after"]["gate"]["unmet"]] == ["hiring_plan_fulfilled"]


async def test_an_override_while_a_service_is_down_records_what_was_not_judged(
    lifecycle: Lifecycle,
) -> None:
    api = lifecycle.api
    engagement = await _create(api)
    lifecycle.upstreams.down.add("talent")
    moved = await _move(api, engagement, "operate", override=True, reason="Talent is migrating")
    assert moved.status_code == 200, moved.text
    trail = (await api.get(f"/v1/engagements/{engagement['id']}/audit-trail")).json()["items"]
    assert trail[-1]["after"]["gate"]["unmet"] == [
        {
            "key": "hiring_plan_fulfilled",
            "met": False,
            "detail": "Not judged: the talent service is unavailable.",
        }
    ]


async def test_only_a_platform_admin_may_override_a_gate(
    lifecycle: Lifecycle, identity_provider: IdentityProvider
) -> None:
    api = lifecycle.api
    engagement = await _create(api)
    await builders.grant(api, engagement["partner_id"], "partner-lead", "admin")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=lifecycle.app),
        base_url="http://engagements",
        headers={"Authorization": f"Bearer {identity_provider.token('partner-lead')}"},
    ) as partner:
        response = await _move(partner, engagement, "operate", override=True, reason="Trust me")
        assert response.status_code == 403
        assert response.json()["type"] == "/problems/gate-override-refused"
        lifecycle.upstreams.hire(engagement["id"], 3)
        assert (await _move(partner, engagement, "operate")).status_code == 200


async def test_changes_need_the_current_etag(lifecycle: Lifecycle) -> None:
    api = lifecycle.api
    engagement = await _create(api)
    url = f"/v1/engagements/{engagement['id']}"
    read = await api.get(url)
    assert read.headers["etag"] == '"1"'

    missing = await api.patch(url, json={"site": "Cebu"})
    assert missing.status_code == 428
    malformed = await api.patch(url, json={"site": "Cebu"}, headers={"If-Match": "one"})
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["loc"] == ["header", "If-Match"]

    first = await api.patch(url, json={"site": "Cebu"}, headers={"If-Match": '"1"'})
    assert first.status_code == 200
    assert first.headers["etag"] == '"2"'
    stale = await api.patch(url, json={"site": "Davao"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["type"] == "/problems/stale-version"
    assert stale.json()["current_etag"] == '"2"'
    stale_move = await api.post(
        f"{url}/transitions", json={"to_phase": "terminated"}, headers={"If-Match": '"1"'}
    )
    assert stale_move.status_code == 412
    assert (await api.get(url)).json()["site"] == "Cebu"


async def test_a_partial_update_changes_only_what_it_sends_and_is_audited(
    lifecycle: Lifecycle,
) -> None:
    api = lifecycle.api
    engagement = await _create(api)
    response = await _patch(api, engagement["id"], {"planned_headcount": 40, "site": None})
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["planned_headcount"], changed["site"]) == (40, None)
    assert changed["destination_country"] == "PH"
    assert changed["transfer_option"] == engagement["transfer_option"]
    trail = (await api.get(f"/v1/engagements/{engagement['id']}/audit-trail")).json()["items"]
    assert trail[-1]["action"] == "engagement.updated"
    assert trail[-1]["before"] == {"planned_headcount": 3, "site": "Manila"}
    assert trail[-1]["after"] == {"planned_headcount": 40, "site": None}


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("POST", "/transitions"),
        ("GET", "/gates/operate"),
        ("GET", "/timeline"),
        ("GET", "/audit-trail"),
        ("GET", "/transfer-plan"),
        ("POST", "/transfer-plan/approval"),
        ("GET", "/transfer-plan/items"),
        ("POST", "/transfer-plan/items"),
    ],
)
async def test_an_unknown_engagement_is_404(lifecycle: Lifecycle, method: str, suffix: str) -> None:
    body = {
        "PATCH": {"site": "Cebu"},
        "POST": {"to_phase": "operate"}
        if suffix == "/transitions"
        else {"title": "Badges", "owner": "client"}
        if suffix.endswith("items")
        else {},
    }.get(method)
    response = await lifecycle.api.request(
        method, f"/v1/engagements/{uuid4()}{suffix}", json=body, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/engagement-not-found"


@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        ({"destination_country": "XX"}, ["body", "destination_country"]),
        ({"business_functions": ["astrology"]}, ["body", "business_functions", 0]),
        (
            {"planned_phases": {"build": {"start": "2025-05-01", "end": "2025-02-01"}}},
            ["body", "planned_phases", "build"],
        ),
        (
            {"transfer_option": {"fee": {"amount": "10", "currency": "XYZ"}}},
            ["body", "transfer_option", "fee", "currency"],
        ),
        (
            {"transfer_option": {"fee": {"amount": "0.001", "currency": "USD"}}},
            ["body", "transfer_option", "fee", "amount"],
        ),
        ({"planned_headcount": 0}, ["body", "planned_headcount"]),
        ({"phase": "operate"}, ["body", "phase"]),
        (
            {"transitions": [{"from_phase": "build", "to_phase": "operate"}]},
            ["body", "transitions"],
        ),
    ],
)
async def test_a_malformed_engagement_is_422_locating_the_field(
    lifecycle: Lifecycle, overrides: dict[str, Any], location: list[Any]
) -> None:
    client_id, partner_id = await _parties(lifecycle.api)
    response = await lifecycle.api.post(
        "/v1/engagements", json=_terms(client_id, partner_id, **overrides)
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][: len(location)] == location


@pytest.mark.parametrize(
    ("suffix", "body"),
    [
        ("", {"name": None}),
        ("", {"business_functions": None}),
        ("", {"destination_country": "ZZ"}),
        ("/transfer-plan/items/{item}", {"title": None}),
        ("/transfer-plan/items/{item}", {"owner": None}),
        ("/transfer-plan/items/{item}", {"status": "lost"}),
    ],
)
async def test_a_change_that_clears_what_must_stay_is_422(
    lifecycle: Lifecycle, suffix: str, body: dict[str, Any]
) -> None:
    api = lifecycle.api
    engagement = await _create(api)
    items = (await api.get(f"/v1/engagements/{engagement['id']}/transfer-plan/items")).json()
    url = f"/v1/engagements/{engagement['id']}" + suffix.format(item=items["items"][0]["id"])
    response = await api.patch(url, json=body, headers={"If-Match": '"1"'})
    assert response.status_code == 422, response.text


async def test_a_malformed_transition_is_422(lifecycle: Lifecycle) -> None:
    engagement = await _create(lifecycle.api)
    for body in ({"to_phase": "limbo"}, {}, {"to_phase": "operate", "surprise": 1}):
        response = await lifecycle.api.post(
            f"/v1/engagements/{engagement['id']}/transitions",
            json=body,
            headers={"If-Match": '"1"'},
        )
        assert response.status_code == 422, body


async def test_the_client_entity_must_be_the_clients_in_the_destination_country(
    lifecycle: Lifecycle,
) -> None:
    api = lifecycle.api
    engagement = await _create(api)
    elsewhere = await _entity(api, engagement["client_id"], "IN")
    partners = await _entity(api, engagement["partner_id"], "PH")
    for entity in (elsewhere, partners):
        response = await _patch(api, engagement["id"], {"client_entity_id": entity})
        assert response.status_code == 422
        assert response.json()["type"] == "/problems/invalid-legal-entity"
    response = await _patch(api, engagement["id"], {"partner_entity_id": partners})
    assert response.status_code == 200
    assert response.json()["partner_entity_id"] == partners


async def test_a_hybrid_engagement_follows_the_transitions_it_was_given(
    lifecycle: Lifecycle,
) -> None:
    api = lifecycle.api
    moves = [
        {"from_phase": "build", "to_phase": "transfer"},
        {"from_phase": "transfer", "to_phase": "transferred"},
        {"from_phase": "build", "to_phase": "operate"},
        {"from_phase": "operate", "to_phase": "managed"},
    ]
    engagement = await _create(api, delivery_model="hybrid", transitions=moves)
    assert engagement["next_phases"] == ["operate", "transfer", "terminated"]
    await _move(api, engagement, "operate", override=True, reason="Setup done")
    refused = await _move(api, engagement, "transfer")
    assert refused.json()["allowed_transitions"] == ["managed", "terminated"]

    client_id, partner_id = await _parties(api)
    for invalid in (
        [{"from_phase": "transferred", "to_phase": "build"}],
        [{"from_phase": "build", "to_phase": "operate"}],
    ):
        response = await api.post(
            "/v1/engagements",
            json=_terms(client_id, partner_id, delivery_model="hybrid", transitions=invalid),
        )
        assert response.status_code == 422
        assert response.json()["type"] == "/problems/invalid-transitions"


async def test_atypical_phase_windows_are_warned_about_not_refused(
    lifecycle: Lifecycle,
) -> None:
    engagement = await _create(
        lifecycle.api,
        destination_country=None,
        planned_phases={
            "build": {"start": "2025-01-01", "end": "2025-08-31"},
            "operate": {"start": "2025-09-01", "end": "2026-08-31"},
        },
    )
    assert engagement["warnings"] == [
        "No destination country is set.",
        "build is planned for 8.0 months; typically 1-3.",
    ]


async def test_a_new_engagement_has_the_standard_transfer_plan_and_items_can_be_added(
    lifecycle: Lifecycle,
) -> None:
    api = lifecycle.api
    engagement = await _create(api)
    url = f"/v1/engagements/{engagement['id']}/transfer-plan"
    plan = (await api.get(url)).json()
    assert [item["scope"] for item in plan["items"]] == [
        "employment_contracts",
        "facility_leases",
        "it_infrastructure",
        "process_documentation",
        "hr_payroll_systems",
        "vendor_contracts",
        "knowledge_transfer",
    ]
    assert (plan["approved_at"], plan["items_total"], plan["items_finished"]) == (None, 7, 0)
    added = await api.post(
        f"{url}/items",
        json={"title": "Badge access", "owner": "client", "due_on": "2026-12-01"},
    )
    assert added.status_code == 201, added.text
    assert added.headers["location"] == f"{url}/items/{added.json()['id']}"
    item = (await api.get(added.headers["location"])).json()
    assert (item["scope"], item["status"], item["owner"]) == ("other", "todo", "client")
    await _approve_plan(api, engagement["id"])
    plan = (await api.get(url)).json()
    assert plan["approved_at"] is not None
    assert plan["approved_by"].startswith("api_key:")
    actions = [
        e["action"]
        for e in (await api.get(f"/v1/engagements/{engagement['id']}/audit-trail")).json()["items"]
    ]
    assert actions == ["engagement.created", "transfer_plan_item.added", "transfer_plan.approved"]


async def test_a_create_retried_with_its_idempotency_key_creates_once(
    lifecycle: Lifecycle,
) -> None:
    api = lifecycle.api
    client_id, partner_id = await _parties(api)
    body = _terms(client_id, partner_id)
    headers = {"Idempotency-Key": str(uuid4())}
    first = await api.post("/v1/engagements", json=body, headers=headers)
    # The same body, its keys in another order: the same request.
    reordered = json.dumps(dict(reversed(list(body.items()))))
    again = await api.post(
        "/v1/engagements",
        content=reordered,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    listed = await api.get("/v1/engagements", params={"client_id": client_id})
    assert len(listed.json()["items"]) == 1

    changed = await api.post("/v1/engagements", json={**body, "site": "Cebu"}, headers=headers)
    assert changed.status_code == 422
    assert changed.json()["type"] == "/problems/idempotency-key-reused"
    unkeyed = await api.post("/v1/engagements", json=body)
    assert unkeyed.json()["id"] != first.json()["id"]


async def test_concurrent_creates_with_one_idempotency_key_create_once(
    lifecycle: Lifecycle,
) -> None:
    api = lifecycle.api
    client_id, partner_id = await _parties(api)
    body, headers = _terms(client_id, partner_id), {"Idempotency-Key": "retry-storm"}
    answers = await asyncio.gather(
        *(api.post("/v1/engagements", json=body, headers=headers) for _ in range(4))
    )
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["id"] for answer in answers}) == 1
    listed = await api.get("/v1/engagements", params={"client_id": client_id})
    assert len(listed.json()["items"]) == 1


async def test_engagements_filter_by_country_function_phase_and_name(
    lifecycle: Lifecycle,
) -> None:
    api = lifecycle.api
    manila = await _create(api, name="Claims 100% Manila")
    pune = await _create(
        api,
        name="Data platform, Pune",
        destination_country="IN",
        business_functions=["data_ai"],
        delivery_model="bto",
    )
    await _move(api, pune, "terminated", reason="Cancelled")

    async def ids(**params: str) -> list[str]:
        response = await api.get("/v1/engagements", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(country="IN") == [pune["id"]]
    assert await ids(business_function="healthcare_billing") == [manila["id"]]
    assert await ids(phase="terminated") == [pune["id"]]
    assert await ids(delivery_model="bot") == [manila["id"]]
    assert await ids(q="PUNE") == [pune["id"]]
    assert await ids(q="100%") == [manila["id"]]
    assert await ids(q="_") == []
    assert await ids(country="IN", business_function="back_office") == []
    assert (await api.get("/v1/engagements", params={"country": "india"})).status_code == 422


async def test_the_demo_data_shows_an_engagement_in_every_phase(services: Services) -> None:
    transport = builders.BlockingTransport(
        builders.gateway(services.apps), asyncio.get_running_loop()
    )
    assert await asyncio.to_thread(demo.load, "http://gateway", services.admin_key, transport)
    engagements = (await services.engagements.get("/v1/engagements")).json()["items"]
    assert {e["phase"] for e in engagements} == {phase.value for phase in Phase}
    assert {e["delivery_model"] for e in engagements} == {"bot", "bto", "hybrid"}
    transferred = next(e for e in engagements if e["phase"] == "transferred")
    trail = await services.engagements.get(f"/v1/engagements/{transferred['id']}/audit-trail")
    assert {
        e["reason"] for e in trail.json()["items"] if e["action"] == "engagement.transitioned"
    } == {demo.MIGRATED}
    assert not await asyncio.to_thread(demo.load, "http://gateway", services.admin_key, transport)


class LateTransport(httpx.AsyncBaseTransport):
    """An in-process transport onto an app built after the one that calls it: engagements asks
    talent and kpi, which ask engagements."""

    def __init__(self) -> None:
        self.app: Any = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.app is not None, "the app this transport leads to is not built yet"
        return await httpx.ASGITransport(app=self.app).handle_async_request(request)


@pytest.fixture
async def system(database_url: URL, identity_provider: IdentityProvider) -> AsyncIterator[Services]:
    """The three real services in-process, engagements' gates asking the real talent and kpi."""
    url = as_service(database_url)
    settings = EngagementsSettings.with_database(url, **SERVICE_SETTINGS)
    admin_key = await create_platform_key(settings, "tests")
    idp = {IDENTITY_PROVIDER: identity_provider.transport()}
    late = {"talent": LateTransport(), "kpi": LateTransport()}
    async with AsyncExitStack() as stack:
        engagements = await stack.enter_async_context(
            LifespanManager(create_engagements(settings, transports={**idp, **late}))
        )
        upstreams = {"engagements": httpx.ASGITransport(app=engagements.app), **idp}
        kpi = await stack.enter_async_context(
            LifespanManager(
                create_kpi(KpiSettings.with_database(url, **SERVICE_SETTINGS), transports=upstreams)
            )
        )
        talent = await stack.enter_async_context(
            LifespanManager(
                create_talent(
                    TalentSettings.with_database(url, **SERVICE_SETTINGS),
                    transports={**upstreams, "kpi": httpx.ASGITransport(app=kpi.app)},
                )
            )
        )
        late["talent"].app, late["kpi"].app = talent.app, kpi.app
        apps = {"engagements": engagements.app, "talent": talent.app, "kpi": kpi.app}
        clients = {
            name: await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=apps[name]),
                    base_url=f"http://{name}",
                    headers={"Authorization": f"Bearer {admin_key}"},
                )
            )
            for name in apps
        }
        yield Services(apps, admin_key, **clients, _stack=stack)


async def test_a_bot_engagement_passes_its_gates_on_the_real_talent_and_kpi_answers(
    system: Services,
) -> None:
    api, talent = system.engagements, system.talent
    engagement = await _create(api, planned_headcount=1)
    eid = engagement["id"]
    assert _unmet(await _move(api, engagement, "operate")) == {"hiring_plan_fulfilled"}

    requisition = await builders.open_requisition(talent, eid)
    candidate = await talent.post("/v1/candidates", json={"engagement_id": eid, "name": "Ana"})
    application = await talent.post(
        "/v1/applications",
        json={"candidate_id": candidate.json()["id"], "requisition_id": requisition["id"]},
    )
    hired = await talent.post(
        f"/v1/applications/{application.json()['id']}/stage-changes",
        json={"stage": "hired", "start_date": datetime.now(UTC).date().isoformat()},
    )
    assert hired.status_code == 200, hired.text
    gate = (await api.get(f"/v1/engagements/{eid}/gates/operate")).json()
    assert gate["passed"] is True, gate
    assert (await _move(api, engagement, "operate")).status_code == 200

    # kpi holds no target for the engagement: nothing holds the transfer back there.
    await _approve_plan(api, eid)
    client_entity = await _entity(api, engagement["client_id"], "PH")
    await _patch(api, eid, {"client_entity_id": client_entity})
    moved = await _move(api, engagement, "transfer")
    assert moved.status_code == 200, moved.text

    assert _unmet(await _move(api, engagement, "transferred")) == {
        "transfer_items_done",
        "employment_moved",
    }
    members = await talent.get("/v1/team-members", params={"engagement_id": eid})
    transfer = await talent.post(
        "/v1/employment-transfers",
        json={
            "engagement_id": eid,
            "team_member_ids": [members.json()["items"][0]["id"]],
            "effective_date": datetime.now(UTC).date().isoformat(),
        },
    )
    assert transfer.status_code == 201, transfer.text
    await _finish_transfer_items(api, eid)
    done = await _move(api, engagement, "transferred")
    assert done.status_code == 200, done.text
    assert done.json()["owner"] == "client"


def test_engagements_from_before_the_lifecycle_get_their_plan_owner_and_phase_start(
    database_url: URL,
) -> None:
    settings = EngagementsSettings.with_database(dsn(database_url))
    config = MIGRATIONS.config(settings.service_url)
    command.downgrade(config, "0004")

    async def insert() -> str:
        connection = await asyncpg.connect(dsn(database_url))
        try:
            client, partner = [
                await connection.fetchval(
                    "INSERT INTO engagements.organizations (name, kind) VALUES ($1, $2)"
                    " RETURNING id",
                    f"{kind} {uuid4()}",
                    kind,
                )
                for kind in ("client", "partner")
            ]
            return str(
                await connection.fetchval(
                    "INSERT INTO engagements.engagements"
                    " (name, client_id, partner_id, delivery_model, phase)"
                    " VALUES ('Old', $1, $2, 'bto', 'transferred') RETURNING id",
                    client,
                    partner,
                )
            )
        finally:
            await connection.close()

    engagement_id = asyncio.run(insert())
    upgrade(settings, MIGRATIONS)

    async def read() -> tuple[Any, list[Any]]:
        connection = await asyncpg.connect(dsn(database_url))
        try:
            row = await connection.fetchrow(
                "SELECT owner, transitions, actual_phases, version"
                " FROM engagements.engagements WHERE id = $1",
                UUID(engagement_id),
            )
            items = await connection.fetch(
                "SELECT scope FROM engagements.transfer_plan_items WHERE engagement_id = $1",
                UUID(engagement_id),
            )
            return row, [item["scope"] for item in items]
        finally:
            await connection.close()

    row, scopes = asyncio.run(read())
    assert row["owner"] == "client"
    assert json.loads(row["transitions"]) == [["build", "transfer"], ["transfer", "transferred"]]
    assert list(json.loads(row["actual_phases"])) == ["transferred"]
    assert row["version"] == 1
    assert len(scopes) == 7
