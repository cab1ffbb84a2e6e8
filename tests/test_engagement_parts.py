"""The parts of an engagement and of its parties: organizations' legal entities, and the
milestones, SLAs and risks of an engagement, through the API."""

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL
from starlette.types import ASGIApp, Receive, Scope, Send

from handover_engagements.access.bootstrap import create_platform_key
from handover_engagements.config import Settings as EngagementsSettings
from handover_engagements.main import create_app as create_engagements
from handover_engagements.milestones.repository import MilestoneRepository
from handover_kit.app import IDENTITY_PROVIDER
from handover_kit.db import ALL_TENANTS, Database
from handover_kit.pagination import encode_cursor
from handover_kpi.config import Settings as KpiSettings
from handover_kpi.main import create_app as create_kpi
from handover_shared.engagements import Phase
from tests import builders
from tests.conftest import Services, as_service
from tests.identity import SERVICE_SETTINGS, IdentityProvider
from tests.sql import fetch


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body = dict(response.json())
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"].endswith(f"/{body['id']}")
    return body


async def _patch(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], etag: str = '"1"'
) -> httpx.Response:
    return await client.patch(url, json=body, headers={"If-Match": etag})


async def _audit(client: httpx.AsyncClient, engagement_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/engagements/{engagement_id}/audit-trail")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


# Legal entities


def _entity(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Northwind Health Philippines, Inc.",
        "country": "PH",
        "registration_number": f"CS{uuid4().hex[:10]}",
        **overrides,
    }


async def test_an_organization_admin_registers_legal_entities_that_its_members_only_read(
    services: Services, identity_provider: IdentityProvider
) -> None:
    organization = await builders.create_organization(services.engagements, name="Northwind")
    entities = f"/v1/organizations/{organization['id']}/entities"
    await builders.grant(services.engagements, organization["id"], "nw-admin", "admin")
    await builders.grant(services.engagements, organization["id"], "nw-member", "member")
    admin = await services.acting_as(identity_provider.token("nw-admin"))
    member = await services.acting_as(identity_provider.token("nw-member"))

    created = await _created(
        await admin.engagements.post(entities, json=_entity(address="One Ayala, Makati"))
    )
    assert created["organization_id"] == organization["id"]
    assert created["country"] == "PH"
    assert created["address"] == "One Ayala, Makati"

    refused = await member.engagements.post(entities, json=_entity())
    assert refused.status_code == 403, refused.text
    listed = await member.engagements.get(entities)
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    read = await member.engagements.get(f"{entities}/{created['id']}")
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    # A platform administrator may write any organization's.
    await _created(await services.engagements.post(entities, json=_entity(country="SG")))


@pytest.mark.parametrize("country", ["XX", "PHL", "ph", "", "P1"])
async def test_a_legal_entity_country_must_be_an_iso_3166_alpha_2_code(
    services: Services, country: str
) -> None:
    organization = await builders.create_organization(services.engagements)
    response = await services.engagements.post(
        f"/v1/organizations/{organization['id']}/entities", json=_entity(country=country)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(error["loc"][-1] == "country" for error in response.json()["errors"])


async def test_a_registration_number_is_unique_per_country_within_an_organization(
    services: Services,
) -> None:
    organization = await builders.create_organization(services.engagements)
    entities = f"/v1/organizations/{organization['id']}/entities"
    await _created(
        await services.engagements.post(entities, json=_entity(registration_number="R1"))
    )

    taken = await services.engagements.post(entities, json=_entity(registration_number="R1"))
    assert taken.status_code == 409, taken.text
    assert taken.json()["type"] == "/problems/legal-entity-exists"
    elsewhere = _entity(registration_number="R1", country="IN")
    await _created(await services.engagements.post(entities, json=elsewhere))
    other = await builders.create_organization(services.engagements, name="Other client")
    await _created(
        await services.engagements.post(
            f"/v1/organizations/{other['id']}/entities", json=_entity(registration_number="R1")
        )
    )


async def test_changing_a_legal_entity_needs_the_etag_it_was_read_at(services: Services) -> None:
    organization = await builders.create_organization(services.engagements)
    entities = f"/v1/organizations/{organization['id']}/entities"
    entity = await _created(await services.engagements.post(entities, json=_entity()))
    url = f"{entities}/{entity['id']}"

    missing = await services.engagements.patch(url, json={"name": "Renamed"})
    assert missing.status_code == 428, missing.text
    changed = await _patch(services.engagements, url, {"name": "Renamed", "address": "Cebu"})
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"2"'
    assert changed.json()["name"] == "Renamed"
    assert changed.json()["address"] == "Cebu"
    stale = await _patch(services.engagements, url, {"name": "Lost update"})
    assert stale.status_code == 412, stale.text
    assert stale.headers["ETag"] == '"2"'
    cleared = await _patch(services.engagements, url, {"address": None}, '"2"')
    assert cleared.json()["address"] is None
    assert (await services.engagements.get(url)).json()["name"] == "Renamed"
    refused = await _patch(services.engagements, url, {"country": None}, '"3"')
    assert refused.status_code == 422, refused.text


async def test_another_organizations_legal_entities_are_answered_as_missing(
    services: Services, identity_provider: IdentityProvider
) -> None:
    mine = await builders.create_organization(services.engagements, name="Mine")
    theirs = await builders.create_organization(services.engagements, name="Theirs")
    entity = await _created(
        await services.engagements.post(
            f"/v1/organizations/{theirs['id']}/entities", json=_entity()
        )
    )
    await builders.grant(services.engagements, mine["id"], "mine-admin", "admin")
    admin = await services.acting_as(identity_provider.token("mine-admin"))

    for foreign, missing in (
        (f"/v1/organizations/{theirs['id']}/entities", f"/v1/organizations/{uuid4()}/entities"),
        (
            f"/v1/organizations/{theirs['id']}/entities/{entity['id']}",
            f"/v1/organizations/{uuid4()}/entities/{entity['id']}",
        ),
    ):
        answers = [await admin.engagements.get(foreign), await admin.engagements.get(missing)]
        assert [answer.status_code for answer in answers] == [404, 404]
        assert answers[0].json()["type"] == answers[1].json()["type"]
    written = await admin.engagements.post(
        f"/v1/organizations/{theirs['id']}/entities", json=_entity()
    )
    assert written.status_code == 404, written.text
    unknown = await services.engagements.get(f"/v1/organizations/{theirs['id']}/entities/{uuid4()}")
    assert unknown.json()["type"] == "/problems/legal-entity-not-found"


# Milestones


def _milestone(**overrides: Any) -> dict[str, Any]:
    return {"title": "Team of 12 onboarded", "phase": "build", "owner": "partner", **overrides}


async def test_a_milestone_is_created_read_and_audited(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    milestones = f"/v1/engagements/{engagement['id']}/milestones"

    created = await _created(
        await services.engagements.post(milestones, json=_milestone(due_date="2025-03-31"))
    )
    assert created["status"] == "planned"
    assert created["completed_at"] is None
    assert created["engagement_id"] == engagement["id"]
    read = await services.engagements.get(f"{milestones}/{created['id']}")
    assert read.json() == created
    assert read.headers["ETag"] == '"1"'

    events = await _audit(services.engagements, engagement["id"])
    (event,) = [event for event in events if event["action"] == "milestone.created"]
    assert event["before"] is None
    assert event["after"]["title"] == "Team of 12 onboarded"
    assert event["after"]["due_date"] == "2025-03-31"


async def test_a_milestone_is_done_only_with_completion_evidence(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    milestones = f"/v1/engagements/{engagement['id']}/milestones"
    milestone = await _created(await services.engagements.post(milestones, json=_milestone()))
    url = f"{milestones}/{milestone['id']}"

    refused = await _patch(services.engagements, url, {"status": "done"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "/problems/milestone-evidence-required"
    assert "evidence" in refused.json()["detail"]
    created_done = await services.engagements.post(milestones, json=_milestone(status="done"))
    assert created_done.status_code == 422

    before = datetime.now(UTC)
    done = await _patch(
        services.engagements, url, {"status": "done", "evidence_note": "Signed off by the COO."}
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    assert datetime.fromisoformat(done.json()["completed_at"]) >= before
    assert done.headers["ETag"] == '"2"'
    cleared = await _patch(services.engagements, url, {"evidence_note": None}, '"2"')
    assert cleared.status_code == 422, cleared.text

    reopened = await _patch(services.engagements, url, {"status": "in_progress"}, '"2"')
    assert reopened.json()["completed_at"] is None
    assert reopened.json()["evidence_note"] == "Signed off by the COO."

    events = await _audit(services.engagements, engagement["id"])
    updates = [event for event in events if event["action"] == "milestone.updated"]
    assert [(u["before"]["status"], u["after"]["status"]) for u in updates] == [
        ("planned", "done"),
        ("done", "in_progress"),
    ]


async def test_a_milestone_takes_evidence_as_a_url_and_a_completion_time_in_the_past(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    milestones = f"/v1/engagements/{engagement['id']}/milestones"
    done = await _created(
        await services.engagements.post(
            milestones,
            json=_milestone(
                status="done",
                evidence_url="https://docs.example.com/signoff.pdf",
                completed_at="2025-03-28T16:00:00+08:00",
            ),
        )
    )
    assert done["evidence_url"] == "https://docs.example.com/signoff.pdf"
    assert datetime.fromisoformat(done["completed_at"]) == datetime(2025, 3, 28, 8, tzinfo=UTC)

    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    for body in (
        _milestone(status="done", evidence_note="x", completed_at=future),
        _milestone(completed_at="2025-03-28T16:00:00Z"),
        _milestone(status="done", evidence_url="ftp://docs.example.com/signoff.pdf"),
        _milestone(status="done", evidence_note="x", completed_at="2025-03-28T16:00:00"),
    ):
        response = await services.engagements.post(milestones, json=body)
        assert response.status_code == 422, (body, response.text)


async def test_milestones_filter_by_phase_status_and_owner_and_page_stably(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    milestones = f"/v1/engagements/{engagement['id']}/milestones"
    created = [
        await _created(await services.engagements.post(milestones, json=body))
        for body in (
            _milestone(title="Hire", phase="build", owner="partner"),
            _milestone(title="Office", phase="build", owner="client", status="blocked"),
            _milestone(title="SLAs met", phase="operate", owner="partner"),
            _milestone(title="Lease", phase="transfer", owner="client", status="cancelled"),
            _milestone(title="Payroll", phase="build", owner="partner", status="in_progress"),
        )
    ]

    async def titles(**params: Any) -> list[str]:
        response = await services.engagements.get(milestones, params=params)
        assert response.status_code == 200, response.text
        return [item["title"] for item in response.json()["items"]]

    assert await titles(phase="build") == ["Hire", "Office", "Payroll"]
    assert await titles(owner="client") == ["Office", "Lease"]
    assert await titles(status="blocked") == ["Office"]
    assert await titles(phase="build", owner="partner", status="planned") == ["Hire"]
    assert (
        await services.engagements.get(milestones, params={"status": "late"})
    ).status_code == 422

    seen = await builders.every_item(services.engagements, milestones, limit=2)
    assert [item["id"] for item in seen] == [milestone["id"] for milestone in created]


async def test_only_unfinished_milestones_of_the_phase_hold_its_gate(
    services: Services, database_url: URL
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    milestones = f"/v1/engagements/{engagement['id']}/milestones"
    open_ones = [
        await _created(await services.engagements.post(milestones, json=body))
        for body in (_milestone(title="Hire"), _milestone(title="Office", status="blocked"))
    ]
    for body in (
        _milestone(title="Lease", status="cancelled"),
        _milestone(title="Laptops", status="done", evidence_note="Delivered"),
        _milestone(title="SLAs met", phase="operate"),
    ):
        await _created(await services.engagements.post(milestones, json=body))
    other = await builders.create_engagement(services.engagements)
    await services.engagements.post(f"/v1/engagements/{other['id']}/milestones", json=_milestone())

    database = Database(EngagementsSettings.with_database(as_service(database_url)), "tests")
    try:
        async with database.session(ALL_TENANTS) as session:
            repository = MilestoneRepository(session)
            unfinished = await repository.unfinished(UUID(engagement["id"]), Phase.BUILD)
            transfer = await repository.unfinished(UUID(engagement["id"]), Phase.TRANSFER)
    finally:
        await database.dispose()
    assert [str(milestone.id) for milestone in unfinished] == [m["id"] for m in open_ones]
    assert transfer == []


async def test_changing_a_milestone_needs_the_etag_it_was_read_at(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    milestones = f"/v1/engagements/{engagement['id']}/milestones"
    milestone = await _created(await services.engagements.post(milestones, json=_milestone()))
    url = f"{milestones}/{milestone['id']}"

    assert (await services.engagements.patch(url, json={"title": "x"})).status_code == 428
    assert (await _patch(services.engagements, url, {"title": "Renamed"})).status_code == 200
    stale = await _patch(services.engagements, url, {"title": "Lost"})
    assert stale.status_code == 412
    assert stale.json()["type"] == "/problems/stale-version"
    malformed = await services.engagements.patch(
        url, json={"title": "x"}, headers={"If-Match": "*"}
    )
    assert malformed.status_code == 422
    for body in ({"title": None}, {"status": None}, {"phase": "later"}, {"unknown": 1}):
        response = await _patch(services.engagements, url, body, '"2"')
        assert response.status_code == 422, (body, response.text)
    unchanged = await _patch(services.engagements, url, {"title": "Renamed"}, '"2"')
    assert unchanged.headers["ETag"] == '"2"'


async def test_a_milestone_of_an_unknown_engagement_or_id_is_not_found(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    unknown = await services.engagements.post(
        f"/v1/engagements/{uuid4()}/milestones", json=_milestone()
    )
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "/problems/engagement-not-found"
    listed = await services.engagements.get(f"/v1/engagements/{uuid4()}/milestones")
    assert listed.json()["type"] == "/problems/engagement-not-found"
    missing = await services.engagements.get(
        f"/v1/engagements/{engagement['id']}/milestones/{uuid4()}"
    )
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/milestone-not-found"


async def test_a_viewer_reads_milestones_but_cannot_write_them(
    services: Services, identity_provider: IdentityProvider
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    milestones = f"/v1/engagements/{engagement['id']}/milestones"
    await _created(await services.engagements.post(milestones, json=_milestone()))
    await builders.grant(services.engagements, engagement["client_id"], "viewer", "viewer")
    await builders.grant(services.engagements, engagement["partner_id"], "partner", "member")
    viewer = await services.acting_as(identity_provider.token("viewer"))
    partner = await services.acting_as(identity_provider.token("partner"))

    assert len((await viewer.engagements.get(milestones)).json()["items"]) == 1
    refused = await viewer.engagements.post(milestones, json=_milestone())
    assert refused.status_code == 403
    assert refused.json()["missing_scopes"] == ["engagements:write"]
    await _created(await partner.engagements.post(milestones, json=_milestone()))


# SLAs


def _sla(**overrides: Any) -> dict[str, Any]:
    return {
        "metric_key": "retention_rate",
        "comparator": "gte",
        "target": 90.0,
        "window_days": 90,
        "effective_from": "2025-04-01T00:00:00Z",
        **overrides,
    }


async def _told(database_url: URL, sla_id: str) -> list[dict[str, Any]]:
    rows = await fetch(
        database_url,
        "SELECT message_type, destination, payload FROM engagements.outbox"
        " WHERE aggregate_id = $1 ORDER BY id",
        UUID(sla_id),
    )
    return [dict(row) for row in rows]


async def test_every_sla_change_is_told_to_kpi_in_the_outbox(
    services: Services, database_url: URL
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    slas = f"/v1/engagements/{engagement['id']}/slas"
    sla = await _created(await services.engagements.post(slas, json=_sla()))
    url = f"{slas}/{sla['id']}"
    changed = await _patch(services.engagements, url, {"target": 92.5, "window_days": 60})
    assert changed.status_code == 200, changed.text
    assert (await services.engagements.delete(url)).status_code == 204
    assert (await services.engagements.get(url)).status_code == 404

    told = await _told(database_url, sla["id"])
    assert [(row["message_type"], row["destination"]) for row in told] == [
        ("engagements.sla_set", "kpi"),
        ("engagements.sla_set", "kpi"),
        ("engagements.sla_removed", "kpi"),
    ]
    payloads = [json.loads(row["payload"]) for row in told]
    parties = {
        "sla_id": sla["id"],
        "engagement_id": engagement["id"],
        "client_id": engagement["client_id"],
        "partner_id": engagement["partner_id"],
    }
    assert payloads[0] == {
        **parties,
        "metric_key": "retention_rate",
        "comparator": "gte",
        "target": 90.0,
        "window_days": 90,
        "effective_from": "2025-04-01T00:00:00Z",
    }
    assert payloads[1] == {**payloads[0], "target": 92.5, "window_days": 60}
    assert payloads[2].keys() == {*parties, "removed_at"}

    actions = [event["action"] for event in await _audit(services.engagements, engagement["id"])]
    assert [a for a in actions if a.startswith("sla.")] == [
        "sla.created",
        "sla.updated",
        "sla.removed",
    ]


async def test_an_unchanged_sla_tells_kpi_nothing(services: Services, database_url: URL) -> None:
    engagement = await builders.create_engagement(services.engagements)
    slas = f"/v1/engagements/{engagement['id']}/slas"
    sla = await _created(await services.engagements.post(slas, json=_sla()))
    same = await _patch(services.engagements, f"{slas}/{sla['id']}", {"target": 90.0})
    assert same.headers["ETag"] == '"1"'
    assert len(await _told(database_url, sla["id"])) == 1


async def test_an_engagement_has_one_sla_per_metric(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    slas = f"/v1/engagements/{engagement['id']}/slas"
    first = await _created(await services.engagements.post(slas, json=_sla()))
    taken = await services.engagements.post(slas, json=_sla(target=80))
    assert taken.status_code == 409
    assert taken.json()["type"] == "/problems/sla-exists"
    await _created(await services.engagements.post(slas, json=_sla(metric_key="time_to_hire")))
    assert (await services.engagements.delete(f"{slas}/{first['id']}")).status_code == 204
    await _created(await services.engagements.post(slas, json=_sla()))


@pytest.mark.parametrize(
    "overrides",
    [
        {"metric_key": "Retention Rate"},
        {"metric_key": "retention__rate"},
        {"metric_key": "r" * 65},
        {"comparator": "approximately"},
        {"window_days": 0},
        {"window_days": 367},
        {"target": "high"},
        {"target": 1e300},
        {"effective_from": "2025-04-01T00:00:00"},
    ],
)
async def test_a_malformed_sla_is_refused_with_a_problem(
    services: Services, overrides: dict[str, Any]
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    response = await services.engagements.post(
        f"/v1/engagements/{engagement['id']}/slas", json=_sla(**overrides)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_sla_starts_now_unless_told_otherwise(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    before = datetime.now(UTC)
    body = _sla()
    del body["effective_from"]
    sla = await _created(
        await services.engagements.post(f"/v1/engagements/{engagement['id']}/slas", json=body)
    )
    assert before <= datetime.fromisoformat(sla["effective_from"]) <= datetime.now(UTC)


class _Later:
    """An ASGI app bound after it is handed out: engagements must be told where kpi is
    before kpi, which asks engagements, can be built."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@pytest.fixture
async def with_kpi(
    database_url: URL, identity_provider: IdentityProvider
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Engagements and kpi in-process, engagements' relay delivering to kpi."""
    url = as_service(database_url)
    settings = EngagementsSettings.with_database(url, **SERVICE_SETTINGS)
    key = await create_platform_key(settings, "tests")
    idp = {IDENTITY_PROVIDER: identity_provider.transport()}
    kpi_later = _Later()
    async with AsyncExitStack() as stack:
        engagements = await stack.enter_async_context(
            LifespanManager(
                create_engagements(
                    settings, transports={**idp, "kpi": httpx.ASGITransport(app=kpi_later)}
                )
            )
        )
        kpi = await stack.enter_async_context(
            LifespanManager(
                create_kpi(
                    KpiSettings.with_database(url, **SERVICE_SETTINGS),
                    transports={"engagements": httpx.ASGITransport(app=engagements.app), **idp},
                )
            )
        )
        kpi_later.app = kpi.app
        headers = {"Authorization": f"Bearer {key}"}
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url=f"http://{name}",
                    headers=headers,
                )
            )
            for name, app in (("engagements", engagements.app), ("kpi", kpi.app))
        ]
        yield clients[0], clients[1]


async def test_kpi_measures_an_sla_from_its_definition_until_its_retirement(
    with_kpi: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    engagements, kpi = with_kpi
    engagement = await builders.create_engagement(engagements)
    slas = f"/v1/engagements/{engagement['id']}/slas"
    sla = await _created(await engagements.post(slas, json=_sla()))
    changed = await _patch(engagements, f"{slas}/{sla['id']}", {"target": 92.5})
    assert changed.status_code == 200
    await builders.facts_delivered(engagements)

    targets = await kpi.get("/v1/targets", params={"engagement_id": engagement["id"]})
    (target,) = targets.json()["items"]
    assert target["sla_id"] == sla["id"]
    assert target["metric_key"] == "retention_rate"
    assert target["threshold"] == 92.5
    assert target["effective_to"] is None

    assert (await engagements.delete(f"{slas}/{sla['id']}")).status_code == 204
    await builders.facts_delivered(engagements)
    targets = await kpi.get("/v1/targets", params={"engagement_id": engagement["id"]})
    (target,) = targets.json()["items"]
    assert target["effective_to"] is not None


# Risks


def _risk(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Attrition before transfer",
        "likelihood": 3,
        "impact": 3,
        "owner": "partner",
        **overrides,
    }


async def test_a_risks_severity_is_its_likelihood_times_its_impact(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    risks = f"/v1/engagements/{engagement['id']}/risks"
    risk = await _created(await services.engagements.post(risks, json=_risk(likelihood=4)))
    assert (risk["severity"], risk["status"]) == (12, "open")

    changed = await _patch(
        services.engagements,
        f"{risks}/{risk['id']}",
        {"impact": 5, "mitigation": "Retention bonus", "status": "mitigated"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["severity"] == 20
    assert changed.headers["ETag"] == '"2"'
    events = await _audit(services.engagements, engagement["id"])
    (update,) = [event for event in events if event["action"] == "risk.updated"]
    assert update["before"] == {"impact": 3, "mitigation": None, "status": "open", "severity": 12}
    assert update["after"] == {
        "impact": 5,
        "mitigation": "Retention bonus",
        "status": "mitigated",
        "severity": 20,
    }


async def test_risks_list_most_severe_first_filtered_and_paged_stably(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    risks = f"/v1/engagements/{engagement['id']}/risks"
    ratings = [(1, 2), (5, 5), (2, 3), (3, 2), (4, 1), (2, 3)]
    created = [
        await _created(
            await services.engagements.post(
                risks,
                json=_risk(
                    title=f"Risk {n}",
                    likelihood=likelihood,
                    impact=impact,
                    status="closed" if n == 3 else "open",
                ),
            )
        )
        for n, (likelihood, impact) in enumerate(ratings)
    ]
    expected = [
        risk["id"] for risk in sorted(created, key=lambda r: (r["severity"], r["id"]), reverse=True)
    ]

    seen = await builders.every_item(services.engagements, risks, limit=2)
    assert [item["id"] for item in seen] == expected

    async def titles(**params: Any) -> list[str]:
        response = await services.engagements.get(risks, params=params)
        assert response.status_code == 200, response.text
        return [item["title"] for item in response.json()["items"]]

    assert await titles(min_severity=6) == ["Risk 1", "Risk 5", "Risk 3", "Risk 2"]
    assert await titles(min_severity=6, status="open") == ["Risk 1", "Risk 5", "Risk 2"]
    assert await titles(status="closed") == ["Risk 3"]
    for params in ({"min_severity": 26}, {"min_severity": 0}, {"status": "gone"}):
        assert (await services.engagements.get(risks, params=params)).status_code == 422
    forged = encode_cursor(f"99999:{uuid4()}")
    answer = await services.engagements.get(risks, params={"cursor": forged})
    assert answer.status_code == 422
    assert answer.json()["type"] == "/problems/invalid-cursor"


@pytest.mark.parametrize(
    "overrides",
    [{"likelihood": 0}, {"likelihood": 6}, {"impact": "high"}, {"owner": "vendor"}, {"title": ""}],
)
async def test_a_malformed_risk_is_refused_with_a_problem(
    services: Services, overrides: dict[str, Any]
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    response = await services.engagements.post(
        f"/v1/engagements/{engagement['id']}/risks", json=_risk(**overrides)
    )
    assert response.status_code == 422, response.text


async def test_changing_a_risk_needs_the_etag_it_was_read_at(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    risks = f"/v1/engagements/{engagement['id']}/risks"
    risk = await _created(await services.engagements.post(risks, json=_risk()))
    url = f"{risks}/{risk['id']}"
    assert (await services.engagements.patch(url, json={"status": "closed"})).status_code == 428
    assert (await _patch(services.engagements, url, {"status": "closed"})).status_code == 200
    assert (await _patch(services.engagements, url, {"status": "open"})).status_code == 412
    assert (await services.engagements.get(url)).json()["status"] == "closed"
    missing = await services.engagements.get(f"{risks}/{uuid4()}")
    assert missing.json()["type"] == "/problems/risk-not-found"


async def test_another_tenants_engagement_parts_are_answered_as_missing(
    services: Services, identity_provider: IdentityProvider
) -> None:
    mine = await builders.create_engagement(services.engagements)
    theirs = await builders.create_engagement(services.engagements)
    parts = {
        "milestones": _milestone(),
        "slas": _sla(),
        "risks": _risk(),
    }
    ids = {
        kind: (
            await _created(
                await services.engagements.post(f"/v1/engagements/{theirs['id']}/{kind}", json=body)
            )
        )["id"]
        for kind, body in parts.items()
    }
    await builders.grant(services.engagements, mine["partner_id"], "intruder", "admin")
    intruder = await services.acting_as(identity_provider.token("intruder"))

    for kind, body in parts.items():
        for engagement_id in (theirs["id"], str(uuid4())):
            base = f"/v1/engagements/{engagement_id}/{kind}"
            for response in (
                await intruder.engagements.get(base),
                await intruder.engagements.post(base, json=body),
                await intruder.engagements.get(f"{base}/{ids[kind]}"),
                await _patch(intruder.engagements, f"{base}/{ids[kind]}", {}),
            ):
                assert response.status_code == 404, (kind, response.text)
                assert response.json()["type"] == "/problems/engagement-not-found"
        own = await intruder.engagements.get(f"/v1/engagements/{mine['id']}/{kind}")
        assert own.json()["items"] == []


async def test_a_create_retried_with_its_idempotency_key_creates_once(
    services: Services, database_url: URL
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    base = f"/v1/engagements/{engagement['id']}"
    organization = f"/v1/organizations/{engagement['client_id']}/entities"
    entity = _entity()
    for url, body, other in (
        (f"{base}/milestones", _milestone(), {"title": "Other"}),
        (f"{base}/slas", _sla(), {"target": 1}),
        (f"{base}/risks", _risk(), {"title": "Other"}),
        (organization, entity, {"name": "Other"}),
    ):
        key = {"Idempotency-Key": str(uuid4())}
        first = await services.engagements.post(url, json=body, headers=key)
        retried = await services.engagements.post(url, json=body, headers=key)
        assert first.status_code == retried.status_code == 201, retried.text
        assert retried.json() == first.json()
        assert retried.headers["Location"] == first.headers["Location"]
        assert retried.headers["Idempotent-Replayed"] == "true"
        assert len((await services.engagements.get(url)).json()["items"]) == 1
        reused = await services.engagements.post(url, json={**body, **other}, headers=key)
        assert reused.status_code == 422, reused.text
        assert reused.json()["type"] == "/problems/idempotency-key-reused"

    sla_id = (await services.engagements.get(f"{base}/slas")).json()["items"][0]["id"]
    assert len(await _told(database_url, sla_id)) == 1
