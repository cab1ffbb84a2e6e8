"""No tenant sees or touches another's data: not through any endpoint, and not in PostgreSQL.

Two worlds are built: client A with partner P running engagement E, and client B with
partner Q running engagement F. Every kind of principal of the first world tries every
operation of every service against the second world's ids.
"""

import re
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import URL

from handover_kit.db import dsn
from handover_tools.services import SERVICES
from tests import builders
from tests.conftest import Services, as_service, openapi_document
from tests.identity import IdentityProvider

ALL_SCOPES_BUT_ADMIN = [
    "engagements:read",
    "engagements:write",
    "talent:read",
    "talent:write",
    "talent:events:write",
    "kpi:read",
    "kpi:write",
    "organization:admin",
]


@dataclass
class World:
    client_id: str
    partner_id: str
    engagement_id: str
    requisition_id: str
    membership_id: str
    api_key_id: str
    source_id: str
    hris_event_id: str
    target_id: str
    entity_id: str
    milestone_id: str
    sla_id: str
    risk_id: str
    point_id: str
    team: dict[str, str]


async def _world(services: Services, name: str) -> World:
    engagement = await builders.create_engagement(services.engagements, name=f"{name} ops")
    requisition = await services.talent.post(
        "/v1/requisitions",
        json={"engagement_id": engagement["id"], "title": f"{name} analyst", "headcount": 2},
    )
    assert requisition.status_code == 201
    membership = await builders.grant(
        services.engagements, engagement["client_id"], f"{name}-client-admin", "admin"
    )
    await builders.grant(
        services.engagements, engagement["partner_id"], f"{name}-partner-admin", "admin"
    )
    key = await builders.create_api_key(
        services.engagements, ALL_SCOPES_BUT_ADMIN, organization_id=engagement["partner_id"]
    )
    source = await builders.create_hris_source(services.talent, engagement["id"])
    batch = await services.talent.post(
        f"/v1/hris/sources/{source['id']}/event-batches", json={"events": [_hris_event(name)]}
    )
    assert batch.status_code == 202, batch.text
    target = await services.kpi.post("/v1/targets", json=_target(engagement["id"]))
    assert target.status_code == 201, target.text
    await builders.send_points(services.kpi, builders.data_point(engagement))
    points = await services.kpi.get("/v1/data-points", params={"engagement_id": engagement["id"]})
    await builders.facts_delivered(services.talent)
    parts = {
        "entity": await services.engagements.post(
            f"/v1/organizations/{engagement['client_id']}/entities", json=_legal_entity()
        ),
        **{
            kind: await services.engagements.post(
                f"/v1/engagements/{engagement['id']}/{kind}s", json=body
            )
            for kind, body in (("milestone", _milestone()), ("sla", _sla()), ("risk", _risk()))
        },
    }
    for response in parts.values():
        assert response.status_code == 201, response.text
    team = await _team(services, engagement, parts["entity"].json()["id"])
    return World(
        client_id=engagement["client_id"],
        partner_id=engagement["partner_id"],
        engagement_id=engagement["id"],
        requisition_id=requisition.json()["id"],
        membership_id=membership["id"],
        api_key_id=key["id"],
        source_id=source["id"],
        hris_event_id=batch.json()["results"][0]["id"],
        target_id=target.json()["id"],
        entity_id=parts["entity"].json()["id"],
        milestone_id=parts["milestone"].json()["id"],
        sla_id=parts["sla"].json()["id"],
        risk_id=parts["risk"].json()["id"],
        point_id=points.json()["items"][0]["id"],
        team=team,
    )


async def _team(services: Services, engagement: dict[str, Any], entity_id: str) -> dict[str, str]:
    """A role, a hire from it, and the hire's contract moved to the client's entity."""
    moved = await services.engagements.patch(
        f"/v1/engagements/{engagement['id']}",
        json={"destination_country": "PH", "client_entity_id": entity_id},
        headers={"If-Match": '"1"'},
    )
    assert moved.status_code == 200, moved.text
    requisition = await builders.open_requisition(services.talent, engagement["id"])
    candidate = await services.talent.post(
        "/v1/candidates", json={"engagement_id": engagement["id"], "name": "Ana Reyes"}
    )
    application = await services.talent.post(
        "/v1/applications",
        json={"candidate_id": candidate.json()["id"], "requisition_id": requisition["id"]},
    )
    hired = await services.talent.post(
        f"/v1/applications/{application.json()['id']}/stage-changes",
        json={"stage": "hired", "start_date": "2026-04-01"},
    )
    assert hired.status_code == 200, hired.text
    members = await services.talent.get(
        "/v1/team-members", params={"engagement_id": engagement["id"]}
    )
    member_id = members.json()["items"][0]["id"]
    transfer = await services.talent.post(
        "/v1/employment-transfers", json=_transfer(engagement["id"], member_id)
    )
    assert transfer.status_code == 201, transfer.text
    return {
        "role_id": requisition["role_id"],
        "hired_requisition_id": requisition["id"],
        "candidate_id": candidate.json()["id"],
        "application_id": application.json()["id"],
        "team_member_id": member_id,
        "transfer_id": transfer.json()["id"],
    }


def _transfer(engagement_id: str, member_id: str) -> dict[str, Any]:
    return {
        "engagement_id": engagement_id,
        "team_member_ids": [member_id],
        "effective_date": "2027-01-01",
    }


def _legal_entity() -> dict[str, Any]:
    return {"name": "Hijack Inc.", "country": "PH", "registration_number": f"R{uuid4().hex}"}


def _milestone() -> dict[str, Any]:
    return {"title": "Team hired", "phase": "build", "owner": "partner"}


def _sla() -> dict[str, Any]:
    return {"metric_key": "time_to_hire", "comparator": "lte", "target": 30, "window_days": 90}


def _risk() -> dict[str, Any]:
    return {"title": "Attrition", "likelihood": 3, "impact": 4, "owner": "partner"}


def _target(engagement_id: str) -> dict[str, Any]:
    return {
        "engagement_id": engagement_id,
        "metric_key": "retention_rate",
        "comparator": "gte",
        "threshold": 90,
    }


def _hris_event(name: str) -> dict[str, Any]:
    return {
        "kind": "application.created",
        "event_id": f"{name}-{uuid4()}",
        "occurred_at": "2025-03-01T09:00:00Z",
        "candidate": {"external_id": f"{name}-candidate"},
        "application_id": f"{name}-application",
        "job_id": f"{name}-job",
    }


@pytest.fixture
async def worlds(services: Services) -> tuple[World, World]:
    return await _world(services, "a"), await _world(services, "b")


async def _principals(services: Services, idp: IdentityProvider, own: World) -> dict[str, Any]:
    client_key = await builders.create_api_key(
        services.engagements, ALL_SCOPES_BUT_ADMIN, organization_id=own.client_id
    )
    partner_key = await builders.create_api_key(
        services.engagements, ALL_SCOPES_BUT_ADMIN, organization_id=own.partner_id
    )
    return {
        "client person": await services.acting_as(idp.token("a-client-admin")),
        "partner person": await services.acting_as(idp.token("a-partner-admin")),
        "client api key": await services.acting_as(client_key["key"]),
        "partner api key": await services.acting_as(partner_key["key"]),
    }


def _fill(path: str, foreign: World) -> str:
    ids = {
        "organization_id": foreign.client_id,
        "engagement_id": foreign.engagement_id,
        "requisition_id": foreign.requisition_id,
        "membership_id": foreign.membership_id,
        "api_key_id": foreign.api_key_id,
        "metric_key": "time_to_hire",
        "dead_letter_id": str(uuid4()),
        "source_id": foreign.source_id,
        "event_id": foreign.hris_event_id,
        "target_id": foreign.target_id,
        "entity_id": foreign.entity_id,
        "milestone_id": foreign.milestone_id,
        "sla_id": foreign.sla_id,
        "risk_id": foreign.risk_id,
        "point_id": foreign.point_id,
        "item_id": str(uuid4()),
        "to_phase": "operate",
        **foreign.team,
    }
    if path == "/v1/series":
        return (
            f"{path}?metric_key=quality_score&engagement_id={foreign.engagement_id}"
            "&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z"
        )
    return re.sub(r"\{(\w+)\}", lambda match: ids[match.group(1)], path)


def _body(service: str, method: str, path: str, foreign: World) -> dict[str, Any] | None:
    """A valid body for each write, aimed at the other world wherever it names an id."""
    foreign_engagement = {"id": foreign.engagement_id}
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/v1/organizations"): {"name": f"Org {uuid4()}", "kind": "client"},
        ("POST", "/v1/engagements"): {
            "name": "Hijack",
            "client_id": foreign.client_id,
            "partner_id": foreign.partner_id,
            "delivery_model": "bot",
        },
        ("POST", "/v1/organizations/{organization_id}/memberships"): {
            "issuer": "https://idp.test/",
            "subject": f"intruder-{uuid4()}",
            "role": "admin",
        },
        ("POST", "/v1/api-keys"): {
            "name": "Hijack",
            "scopes": ["kpi:read"],
            "organization_id": foreign.client_id,
        },
        ("POST", "/v1/requisitions"): {
            "engagement_id": foreign.engagement_id,
            "title": "Hijack",
            "headcount": 1,
        },
        ("PATCH", "/v1/engagements/{engagement_id}"): {"site": "Hijack"},
        ("POST", "/v1/engagements/{engagement_id}/transitions"): {"to_phase": "terminated"},
        ("POST", "/v1/engagements/{engagement_id}/transfer-plan/approval"): {},
        ("POST", "/v1/engagements/{engagement_id}/transfer-plan/items"): {
            "title": "Hijack",
            "owner": "client",
        },
        ("PATCH", "/v1/engagements/{engagement_id}/transfer-plan/items/{item_id}"): {
            "status": "done"
        },
        ("POST", "/v1/roles"): builders.role(foreign.engagement_id),
        ("PATCH", "/v1/roles/{role_id}"): {"title": "Hijack"},
        ("PATCH", "/v1/requisitions/{requisition_id}"): {"headcount": 9},
        ("POST", "/v1/requisitions/{requisition_id}/transitions"): {"status": "cancelled"},
        ("POST", "/v1/candidates"): {"engagement_id": foreign.engagement_id, "name": "Hijack"},
        ("POST", "/v1/applications"): {
            "candidate_id": foreign.team["candidate_id"],
            "requisition_id": foreign.requisition_id,
        },
        ("POST", "/v1/applications/{application_id}/stage-changes"): {"stage": "withdrawn"},
        ("POST", "/v1/team-members/{team_member_id}/onboarding-completion"): {
            "completed_on": "2026-04-20"
        },
        ("POST", "/v1/team-members/{team_member_id}/termination"): {
            "terminated_on": "2026-04-20",
            "voluntary": False,
        },
        ("POST", "/v1/employment-transfers"): _transfer(
            foreign.engagement_id, foreign.team["team_member_id"]
        ),
        ("POST", "/v1/hris/sources"): {
            "engagement_id": foreign.engagement_id,
            "name": "Hijack",
            "vendor": "standard_webhooks",
        },
        ("POST", "/v1/hris/sources/{source_id}/secret-rotations"): {"overlap_hours": 1},
        ("POST", "/v1/hris/sources/{source_id}/event-batches"): {
            "events": [_hris_event("intruder")]
        },
        ("POST", "/v1/metrics"): {
            "key": f"hijack_{uuid4().hex[:8]}",
            "name": "Hijack",
            "unit": "count",
            "aggregation": "sum",
            "direction": "higher_is_better",
        },
        ("POST", "/v1/targets"): _target(foreign.engagement_id),
        ("PATCH", "/v1/targets/{target_id}"): {"threshold": 1},
        ("POST", "/v1/organizations/{organization_id}/entities"): _legal_entity(),
        ("PATCH", "/v1/organizations/{organization_id}/entities/{entity_id}"): {"name": "Hijack"},
        ("POST", "/v1/engagements/{engagement_id}/milestones"): _milestone(),
        ("PATCH", "/v1/engagements/{engagement_id}/milestones/{milestone_id}"): {"title": "x"},
        ("POST", "/v1/engagements/{engagement_id}/slas"): _sla(),
        ("PATCH", "/v1/engagements/{engagement_id}/slas/{sla_id}"): {"target": 1},
        ("POST", "/v1/engagements/{engagement_id}/risks"): _risk(),
        ("PATCH", "/v1/engagements/{engagement_id}/risks/{risk_id}"): {"impact": 1},
        ("POST", "/v1/data-points"): {"points": [builders.data_point(foreign_engagement)]},
        # One NDJSON line; the CSV upload gets no body, which has no header.
        ("POST", "/v1/data-points/ndjson"): builders.data_point(foreign_engagement),
    }
    return bodies.get((method, path)) if method in {"POST", "PATCH", "PUT"} else None


async def test_no_principal_reaches_another_tenants_data_through_any_operation(
    services: Services, worlds: tuple[World, World], identity_provider: IdentityProvider
) -> None:
    own, foreign = worlds
    principals = await _principals(services, identity_provider, own)
    operations = [
        (name, method.upper(), path)
        for name in ("engagements", "talent", "kpi")
        for path, item in openapi_document(name)["paths"].items()
        for method in item
    ]
    tried = set()
    for principal, clients in principals.items():
        for service, method, path in operations:
            url = _fill(path, foreign)
            body = _body(service, method, path, foreign)
            # A current-looking If-Match, so that a change is refused for the resource it
            # names, not for the precondition it lacks.
            response = await getattr(clients, service).request(
                method, url, json=body, headers={"If-Match": '"1"'}
            )
            outcome = (principal, service, method, path, response.status_code, response.text)
            if path.startswith("/v1/admin/"):
                # Platform operations: no tenant's principal holds the scope.
                assert response.status_code == 403, outcome
            elif "{" in path and "metric_key" not in path:
                # Anything addressed by another tenant's id does not exist for this caller.
                assert response.status_code == 404, outcome
            elif method == "GET":
                # Lists answer, but hold nothing of the other tenant.
                assert response.status_code == 200, outcome
                # Exports answer CSV: read every answer as text.
                assert not _mentions(response.text, foreign), outcome
            else:
                # Creates that name another tenant's ids: refused, as if the ids did not exist.
                assert response.status_code in {403, 422}, outcome
            tried.add((service, method, path))
    assert tried == set(operations)


def _mentions(document: Any, world: World) -> bool:
    text = str(document)
    return any(
        value in text
        for value in (world.client_id, world.partner_id, world.engagement_id, world.requisition_id)
    )


async def test_another_tenants_engagement_is_refused_exactly_like_a_missing_one(
    services: Services, worlds: tuple[World, World], identity_provider: IdentityProvider
) -> None:
    own, foreign = worlds
    partner = await services.acting_as(identity_provider.token("a-partner-admin"))

    async def attempt(engagement_id: str) -> httpx.Response:
        return await partner.talent.post(
            "/v1/requisitions",
            json={"engagement_id": engagement_id, "title": "Analyst", "headcount": 1},
        )

    foreign_answer, missing_answer = (
        await attempt(foreign.engagement_id),
        await attempt(str(uuid4())),
    )
    assert foreign_answer.status_code == missing_answer.status_code == 422
    assert _without_ids(foreign_answer.json()) == _without_ids(missing_answer.json())
    assert (await attempt(own.engagement_id)).status_code == 201


def _without_ids(problem: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in problem.items() if key != "detail"}


async def test_a_client_and_its_partner_share_their_engagement_and_nothing_more(
    services: Services, worlds: tuple[World, World], identity_provider: IdentityProvider
) -> None:
    own, _ = worlds
    for subject in ("a-client-admin", "a-partner-admin"):
        person = await services.acting_as(identity_provider.token(subject))
        engagements = (await person.engagements.get("/v1/engagements")).json()["items"]
        assert [e["id"] for e in engagements] == [own.engagement_id]
        requisitions = (await person.talent.get("/v1/requisitions")).json()["items"]
        assert [r["id"] for r in requisitions] == [
            own.requisition_id,
            own.team["hired_requisition_id"],
        ]


async def test_a_platform_admin_sees_every_tenant(
    services: Services, worlds: tuple[World, World]
) -> None:
    own, foreign = worlds
    listed = (await services.engagements.get("/v1/engagements")).json()["items"]
    assert {e["id"] for e in listed} == {own.engagement_id, foreign.engagement_id}


# PostgreSQL holds the line even when code forgets to filter.

TENANT_TABLES = {
    "engagements": [
        "organizations",
        "engagements",
        "memberships",
        "api_keys",
        "legal_entities",
        "transfer_plan_items",
        "audit_events",
        "milestones",
        "slas",
        "risks",
    ],
    "talent": [
        "requisitions",
        "hris_sources",
        "hris_events",
        "roles",
        "candidates",
        "applications",
        "pipeline_events",
        "team_members",
        "employment_transfers",
        "employment_transitions",
    ],
    "kpi": ["opened_requisitions", "targets", "data_points", "data_point_revisions"],
}


async def _as_role(service: str, url: URL) -> asyncpg.Connection:
    settings = next(s for s in SERVICES if s.name == service).settings.with_database(
        as_service(url)
    )
    return await asyncpg.connect(dsn(settings.service_url))


@pytest.mark.parametrize(
    ("service", "table"), [(s, t) for s, tables in TENANT_TABLES.items() for t in tables]
)
async def test_a_query_without_a_declared_tenant_sees_no_rows(
    services: Services, worlds: tuple[World, World], database_url: URL, service: str, table: str
) -> None:
    connection = await _as_role(service, database_url)
    try:
        assert await connection.fetchval(f"SELECT count(*) FROM {service}.{table}") == 0
        async with connection.transaction():
            await connection.execute("SELECT set_config('handover.all_tenants', 'on', true)")
            assert await connection.fetchval(f"SELECT count(*) FROM {service}.{table}") > 0
    finally:
        await connection.close()


async def test_an_unfiltered_query_as_one_tenant_returns_only_its_rows(
    services: Services, worlds: tuple[World, World], database_url: URL
) -> None:
    own, foreign = worlds
    connection = await _as_role("talent", database_url)
    try:
        async with connection.transaction():
            await connection.execute(
                "SELECT set_config('handover.tenant', $1, true)", own.client_id
            )
            rows = await connection.fetch("SELECT id::text FROM talent.requisitions ORDER BY id")
            assert [row["id"] for row in rows] == [
                own.requisition_id,
                own.team["hired_requisition_id"],
            ]
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await connection.execute(
                    "INSERT INTO talent.requisitions (engagement_id, title, headcount, status,"
                    " client_id, partner_id) VALUES ($1, 'x', 1, 'draft', $2, $3)",
                    foreign.engagement_id,
                    foreign.client_id,
                    foreign.partner_id,
                )
    finally:
        await connection.close()
