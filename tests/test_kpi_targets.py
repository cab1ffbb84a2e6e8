"""Targets: set by hand through the API, or told as SLAs by the engagements service."""

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from handover_shared.engagements import SLA_REMOVED, SLA_SET, SlaRemoved, SlaSet
from handover_shared.messages import MESSAGES_PATH
from tests import builders
from tests.conftest import Services


def target(engagement: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "engagement_id": engagement["id"],
        "metric_key": "retention_rate",
        "comparator": "gte",
        "threshold": 90,
        "at_risk_margin": 5,
        "effective_from": "2026-01-01T00:00:00Z",
        **overrides,
    }


async def test_a_target_is_set_read_listed_changed_and_removed(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    created = await services.kpi.post("/v1/targets", json=target(engagement))
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["Location"] == f"/v1/targets/{body['id']}"
    assert (body["source"], body["threshold"], body["effective_to"]) == ("manual", 90.0, None)

    assert (await services.kpi.get(f"/v1/targets/{body['id']}")).json() == body
    listed = await services.kpi.get("/v1/targets", params={"engagement_id": engagement["id"]})
    assert [t["id"] for t in listed.json()["items"]] == [body["id"]]
    other_metric = await services.kpi.get(
        "/v1/targets", params={"engagement_id": engagement["id"], "metric_key": "head_count"}
    )
    assert other_metric.json()["items"] == []

    changed = await services.kpi.patch(
        f"/v1/targets/{body['id']}",
        json={"threshold": 92.5, "effective_to": "2027-01-01T00:00:00Z"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["threshold"], changed.json()["comparator"]) == (92.5, "gte")
    assert changed.json()["effective_to"] == "2027-01-01T00:00:00Z"

    assert (await services.kpi.delete(f"/v1/targets/{body['id']}")).status_code == 204
    missing = await services.kpi.get(f"/v1/targets/{body['id']}")
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/target-not-found"


async def test_a_target_without_a_start_applies_from_now(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    body = target(engagement)
    del body["effective_from"]
    created = await services.kpi.post("/v1/targets", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["effective_from"] >= created.json()["created_at"][:19]


async def test_targets_page_in_creation_order(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    ids = [
        (await services.kpi.post("/v1/targets", json=target(engagement, threshold=n))).json()["id"]
        for n in range(3)
    ]
    first = (await services.kpi.get("/v1/targets", params={"limit": 2})).json()
    second = (
        await services.kpi.get("/v1/targets", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [t["id"] for t in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metric_key": "No-Such"}, "metric_key"),
        ({"comparator": "about"}, "comparator"),
        ({"threshold": "NaN"}, "threshold"),
        ({"at_risk_margin": -1}, "at_risk_margin"),
        ({"effective_from": "2026-01-01T00:00:00"}, "effective_from"),
        ({"effective_from": "0001-01-01T00:00:00+01:00"}, "effective_from"),
        ({"effective_to": "9999-12-31T23:00:00-05:00"}, "effective_to"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_a_malformed_target_is_a_422_naming_the_field(
    services: Services, change: dict[str, Any], field: str
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    response = await services.kpi.post("/v1/targets", json={**target(engagement), **change})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(error["loc"][:2] == ["body", field] for error in response.json()["errors"])


async def test_a_target_that_ends_before_it_begins_is_refused(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    response = await services.kpi.post(
        "/v1/targets", json=target(engagement, effective_to="2025-12-31T00:00:00Z")
    )
    assert response.status_code == 422
    created = (await services.kpi.post("/v1/targets", json=target(engagement))).json()
    patched = await services.kpi.patch(
        f"/v1/targets/{created['id']}", json={"effective_to": "2025-06-01T00:00:00Z"}
    )
    assert patched.status_code == 422
    assert patched.json()["errors"][0]["loc"] == ["body", "effective_to"]
    nulled = await services.kpi.patch(f"/v1/targets/{created['id']}", json={"threshold": None})
    assert nulled.status_code == 422
    ancient = await services.kpi.patch(
        f"/v1/targets/{created['id']}", json={"effective_from": "0001-01-01T00:00:00+01:00"}
    )
    assert ancient.status_code == 422
    assert ancient.json()["errors"][0]["loc"] == ["body", "effective_from"]
    missing = await services.kpi.patch(
        f"/v1/targets/{uuid4()}", json={"effective_to": "0060-01-30T05:11:16Z"}
    )
    assert missing.status_code == 404


async def test_a_target_on_an_unknown_metric_or_engagement_is_refused(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    metric = await services.kpi.post("/v1/targets", json=target(engagement, metric_key="nope"))
    assert metric.status_code == 422
    assert metric.json()["type"] == "/problems/unknown-metric"
    ghost = await services.kpi.post(
        "/v1/targets", json=target(engagement, engagement_id=str(uuid4()))
    )
    assert ghost.status_code == 422
    assert ghost.json()["type"] == "/problems/unknown-engagement"
    assert ghost.json()["errors"][0]["loc"] == ["body", "engagement_id"]


async def test_targets_need_kpi_scopes(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    key = await builders.create_api_key(
        services.engagements, ["kpi:read"], organization_id=engagement["client_id"]
    )
    reader = await services.acting_as(key["key"])
    refused = await reader.kpi.post("/v1/targets", json=target(engagement))
    assert refused.status_code == 403
    assert (await reader.kpi.get("/v1/targets")).status_code == 200


async def test_a_tenant_sets_targets_on_its_own_engagement_only(services: Services) -> None:
    own = await builders.create_engagement(services.engagements)
    other = await builders.create_engagement(services.engagements)
    key = await builders.create_api_key(
        services.engagements, ["kpi:read", "kpi:write"], organization_id=own["partner_id"]
    )
    partner = await services.acting_as(key["key"])
    assert (await partner.kpi.post("/v1/targets", json=target(own))).status_code == 201
    foreign = await partner.kpi.post("/v1/targets", json=target(other))
    missing = await partner.kpi.post("/v1/targets", json=target(own, engagement_id=str(uuid4())))
    assert foreign.status_code == missing.status_code == 422
    assert foreign.json()["type"] == missing.json()["type"] == "/problems/unknown-engagement"
    theirs = (await services.kpi.post("/v1/targets", json=target(other))).json()
    assert (await partner.kpi.get(f"/v1/targets/{theirs['id']}")).status_code == 404
    assert (await partner.kpi.delete(f"/v1/targets/{theirs['id']}")).status_code == 404
    listed = (await partner.kpi.get("/v1/targets")).json()["items"]
    assert {t["engagement_id"] for t in listed} == {own["id"]}


# SLAs, told by the engagements service, become read-only targets.


def sla_set(engagement: dict[str, Any], sla_id: UUID, **overrides: Any) -> dict[str, Any]:
    fact = SlaSet.model_validate(
        {
            "sla_id": sla_id,
            "engagement_id": engagement["id"],
            "client_id": engagement["client_id"],
            "partner_id": engagement["partner_id"],
            "metric_key": "sla_compliance",
            "comparator": "gte",
            "target": 95.0,
            "window_days": 30,
            "effective_from": "2026-02-01T00:00:00Z",
            **overrides,
        }
    )
    return SLA_SET.envelope(fact, source="engagements", aggregate_id=sla_id).model_dump(mode="json")


def sla_removed(engagement: dict[str, Any], sla_id: UUID, removed_at: str) -> dict[str, Any]:
    fact = SlaRemoved.model_validate(
        {
            "sla_id": sla_id,
            "engagement_id": engagement["id"],
            "client_id": engagement["client_id"],
            "partner_id": engagement["partner_id"],
            "removed_at": removed_at,
        }
    )
    return SLA_REMOVED.envelope(fact, source="engagements", aggregate_id=sla_id).model_dump(
        mode="json"
    )


async def _sla_targets(services: Services, engagement: dict[str, Any]) -> list[dict[str, Any]]:
    listed = await services.kpi.get("/v1/targets", params={"engagement_id": engagement["id"]})
    return [t for t in listed.json()["items"] if t["source"] == "sla"]


async def test_an_sla_becomes_a_target_follows_its_changes_and_ends_when_removed(
    services: Services, as_engagements: httpx.AsyncClient
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    sla_id = uuid4()
    told = await as_engagements.post(MESSAGES_PATH, json=sla_set(engagement, sla_id))
    assert told.status_code == 200, told.text
    [sla] = await _sla_targets(services, engagement)
    assert (sla["sla_id"], sla["metric_key"], sla["threshold"], sla["window_days"]) == (
        str(sla_id),
        "sla_compliance",
        95.0,
        30,
    )
    assert (sla["effective_from"], sla["effective_to"]) == ("2026-02-01T00:00:00Z", None)

    await as_engagements.post(MESSAGES_PATH, json=sla_set(engagement, sla_id, target=97.5))
    [changed] = await _sla_targets(services, engagement)
    assert (changed["id"], changed["threshold"]) == (sla["id"], 97.5)

    removal = sla_removed(engagement, sla_id, "2026-06-01T00:00:00Z")
    assert (await as_engagements.post(MESSAGES_PATH, json=removal)).status_code == 200
    [ended] = await _sla_targets(services, engagement)
    assert (ended["id"], ended["effective_to"]) == (sla["id"], "2026-06-01T00:00:00Z")

    # Redefined after its removal, the SLA applies again, as one target still.
    await as_engagements.post(MESSAGES_PATH, json=sla_set(engagement, sla_id))
    [again] = await _sla_targets(services, engagement)
    assert (again["id"], again["effective_to"], again["threshold"]) == (sla["id"], None, 95.0)


async def test_a_redelivered_sla_fact_changes_nothing(
    services: Services, as_engagements: httpx.AsyncClient
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    fact = sla_set(engagement, uuid4())
    answers = [await as_engagements.post(MESSAGES_PATH, json=fact) for _ in range(2)]
    assert [a.json()["duplicate"] for a in answers] == [False, True]
    assert len(await _sla_targets(services, engagement)) == 1


async def test_an_sla_target_is_read_only_through_the_api(
    services: Services, as_engagements: httpx.AsyncClient
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    await as_engagements.post(MESSAGES_PATH, json=sla_set(engagement, uuid4()))
    [sla] = await _sla_targets(services, engagement)
    for response in (
        await services.kpi.patch(f"/v1/targets/{sla['id']}", json={"threshold": 1}),
        await services.kpi.delete(f"/v1/targets/{sla['id']}"),
    ):
        assert response.status_code == 409
        assert response.json()["type"] == "/problems/sla-target-read-only"
    assert (await _sla_targets(services, engagement)) == [sla]


async def test_an_sla_removed_before_it_began_ends_where_it_begins(
    services: Services, as_engagements: httpx.AsyncClient
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    sla_id = uuid4()
    await as_engagements.post(MESSAGES_PATH, json=sla_set(engagement, sla_id))
    await as_engagements.post(
        MESSAGES_PATH, json=sla_removed(engagement, sla_id, "2026-01-15T00:00:00Z")
    )
    [ended] = await _sla_targets(services, engagement)
    assert ended["effective_to"] == ended["effective_from"] == "2026-02-01T00:00:00Z"


async def test_an_sla_fact_with_a_malformed_metric_key_is_refused_and_not_recorded(
    services: Services, as_engagements: httpx.AsyncClient
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    fact = sla_set(engagement, uuid4())
    fact["payload"]["metric_key"] = "Not A Key"
    response = await as_engagements.post(MESSAGES_PATH, json=fact)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "payload", "metric_key"]
    assert await _sla_targets(services, engagement) == []
