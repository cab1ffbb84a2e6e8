"""The scorecard per engagement, and the transfer-readiness verdict drawn from it."""

from typing import Any
from uuid import uuid4

import httpx
import pytest

from handover_kpi.scorecards.service import judge
from handover_shared.kpi import TRANSFER_READINESS_PATH, Comparator, MetricStatus
from handover_shared.messages import MESSAGES_PATH
from tests import builders
from tests.conftest import Services
from tests.test_kpi_facts import Talent
from tests.test_kpi_targets import sla_removed, sla_set


async def _engagement_with_head_count(
    services: Services, as_talent: httpx.AsyncClient, *counts: tuple[int, str]
) -> dict[str, Any]:
    engagement = await builders.create_engagement(services.engagements)
    talent = Talent(as_talent, engagement)
    await talent.tell(*(talent.headcount(count, as_of) for count, as_of in counts))
    return engagement


async def _target(services: Services, engagement: dict[str, Any], **body: Any) -> str:
    response = await services.kpi.post(
        "/v1/targets",
        json={
            "engagement_id": engagement["id"],
            "metric_key": "head_count",
            "comparator": "gte",
            "effective_from": "2026-01-01T00:00:00Z",
            **body,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_each_target_that_applies_now_is_judged_against_the_latest_value(
    services: Services, as_talent: httpx.AsyncClient
) -> None:
    engagement = await _engagement_with_head_count(
        services, as_talent, (8, "2026-01-15T00:00:00Z"), (9, "2026-02-15T00:00:00Z")
    )
    met = await _target(services, engagement, threshold=9)
    at_risk = await _target(services, engagement, threshold=10, at_risk_margin=2)
    missed = await _target(services, engagement, threshold=20, at_risk_margin=2)
    no_data = await _target(services, engagement, metric_key="quality_score", threshold=80)
    await _target(services, engagement, threshold=1, effective_from="2999-01-01T00:00:00Z")
    await _target(services, engagement, threshold=1, effective_to="2026-01-02T00:00:00Z")

    response = await services.kpi.get(f"/v1/scorecards/{engagement['id']}")
    assert response.status_code == 200, response.text
    scorecard = response.json()
    assert scorecard["engagement_id"] == engagement["id"]
    lines = {line["target_id"]: line for line in scorecard["lines"]}
    assert [line["target_id"] for line in scorecard["lines"]] == [met, at_risk, missed, no_data]
    assert {key: line["status"] for key, line in lines.items()} == {
        met: "met",
        at_risk: "at_risk",
        missed: "missed",
        no_data: "no_data",
    }
    head_count = lines[met]
    assert (head_count["value"], head_count["previous_value"], head_count["trend"]) == (
        9.0,
        8.0,
        "up",
    )
    assert head_count["value_at"] == "2026-02-01T00:00:00Z"
    assert (head_count["metric_name"], head_count["unit"], head_count["source"]) == (
        "Head count",
        "count",
        "manual",
    )
    assert head_count["reason"] is None
    assert lines[at_risk]["reason"] == (
        "head_count is 9, and the target is gte 10; within the at-risk margin of 2."
    )
    assert lines[missed]["reason"] == "head_count is 9, and the target is gte 20."
    assert lines[no_data]["reason"] == "quality_score has no data yet."
    assert (lines[no_data]["value"], lines[no_data]["trend"]) == (None, None)


async def test_the_trend_is_flat_or_down_against_the_previous_value(
    services: Services, as_talent: httpx.AsyncClient
) -> None:
    for counts, expected in (((7, 7), "flat"), ((9, 7), "down")):
        engagement = await _engagement_with_head_count(
            services,
            as_talent,
            (counts[0], "2026-03-15T00:00:00Z"),
            (counts[1], "2026-04-15T00:00:00Z"),
        )
        await _target(services, engagement, threshold=0)
        [line] = (await services.kpi.get(f"/v1/scorecards/{engagement['id']}")).json()["lines"]
        assert line["trend"] == expected


@pytest.mark.parametrize(
    ("value", "comparator", "threshold", "margin", "status"),
    [
        (5.0, Comparator.GTE, 5.0, 0.0, MetricStatus.MET),
        (5.0, Comparator.GT, 5.0, 0.0, MetricStatus.MISSED),
        (5.0, Comparator.GT, 5.0, 1.0, MetricStatus.AT_RISK),
        (30.0, Comparator.LTE, 30.0, 0.0, MetricStatus.MET),
        (33.0, Comparator.LTE, 30.0, 5.0, MetricStatus.AT_RISK),
        (36.0, Comparator.LTE, 30.0, 5.0, MetricStatus.MISSED),
        (29.0, Comparator.LT, 30.0, 0.0, MetricStatus.MET),
        (12.0, Comparator.EQ, 12.0, 0.0, MetricStatus.MET),
        (11.0, Comparator.EQ, 12.0, 1.0, MetricStatus.AT_RISK),
        (14.0, Comparator.EQ, 12.0, 1.0, MetricStatus.MISSED),
        (None, Comparator.GTE, 1.0, 0.0, MetricStatus.NO_DATA),
    ],
)
def test_a_value_is_met_at_risk_or_missed_by_its_comparator_and_margin(
    value: float | None,
    comparator: Comparator,
    threshold: float,
    margin: float,
    status: MetricStatus,
) -> None:
    assert judge("m", value, comparator, threshold, margin).status is status


async def test_an_engagement_is_ready_only_when_every_target_is_met(
    services: Services, as_talent: httpx.AsyncClient, as_engagements: httpx.AsyncClient
) -> None:
    engagement = await _engagement_with_head_count(
        services, as_talent, (12, "2026-02-15T00:00:00Z")
    )
    path = f"/v1/scorecards/{engagement['id']}/transfer-readiness"
    internal = TRANSFER_READINESS_PATH.format(engagement_id=engagement["id"])

    nothing_held = (await services.kpi.get(path)).json()
    assert (nothing_held["ready"], nothing_held["metrics"]) == (True, [])

    await _target(services, engagement, threshold=10)
    ready = (await services.kpi.get(path)).json()
    assert ready["ready"] is True
    assert ready["metrics"] == [
        {
            "metric_key": "head_count",
            "status": "met",
            "value": 12.0,
            "target": 10.0,
            "comparator": "gte",
            "reason": None,
        }
    ]

    await _target(services, engagement, threshold=13, at_risk_margin=1)
    await _target(services, engagement, metric_key="retention_rate", threshold=90)
    for verdict in (
        (await services.kpi.get(path)).json(),
        (await as_engagements.get(internal)).json(),
    ):
        assert verdict["ready"] is False
        assert verdict["engagement_id"] == engagement["id"]
        assert [(m["metric_key"], m["status"], m["reason"]) for m in verdict["metrics"]] == [
            ("head_count", "met", None),
            (
                "head_count",
                "at_risk",
                "head_count is 12, and the target is gte 13; within the at-risk margin of 1.",
            ),
            ("retention_rate", "no_data", "retention_rate has no data yet."),
        ]


async def test_an_sla_counts_towards_readiness_while_it_applies(
    services: Services, as_talent: httpx.AsyncClient, as_engagements: httpx.AsyncClient
) -> None:
    engagement = await _engagement_with_head_count(
        services, as_talent, (12, "2026-02-15T00:00:00Z")
    )
    sla_id = uuid4()
    told = sla_set(engagement, sla_id, metric_key="head_count", target=15.0)
    assert (await as_engagements.post(MESSAGES_PATH, json=told)).status_code == 200
    path = f"/v1/scorecards/{engagement['id']}/transfer-readiness"
    blocked = (await services.kpi.get(path)).json()
    assert blocked["ready"] is False
    assert [(m["target"], m["status"]) for m in blocked["metrics"]] == [(15.0, "missed")]
    [line] = (await services.kpi.get(f"/v1/scorecards/{engagement['id']}")).json()["lines"]
    assert line["source"] == "sla"

    removal = sla_removed(engagement, sla_id, "2026-03-01T00:00:00Z")
    assert (await as_engagements.post(MESSAGES_PATH, json=removal)).status_code == 200
    assert (await services.kpi.get(path)).json()["ready"] is True


async def test_the_internal_verdict_is_for_services_only(
    services: Services, as_engagements: httpx.AsyncClient
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    internal = TRANSFER_READINESS_PATH.format(engagement_id=engagement["id"])
    assert (await services.kpi.get(internal)).status_code == 403
    answer = await as_engagements.get(internal)
    assert answer.status_code == 200
    assert answer.json()["ready"] is True
    assert "/internal/" not in str((await services.kpi.get("/openapi.json")).json()["paths"])


async def test_an_unknown_or_another_tenants_engagement_has_no_scorecard(
    services: Services,
) -> None:
    own = await builders.create_engagement(services.engagements)
    other = await builders.create_engagement(services.engagements)
    key = await builders.create_api_key(
        services.engagements, ["kpi:read"], organization_id=own["client_id"]
    )
    client = await services.acting_as(key["key"])
    for suffix in ("", "/transfer-readiness"):
        assert (await client.kpi.get(f"/v1/scorecards/{own['id']}{suffix}")).status_code == 200
        foreign = await client.kpi.get(f"/v1/scorecards/{other['id']}{suffix}")
        missing = await client.kpi.get(f"/v1/scorecards/{uuid4()}{suffix}")
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json()["type"] == missing.json()["type"] == "/problems/engagement-not-found"
    malformed = await client.kpi.get("/v1/scorecards/not-an-id")
    assert malformed.status_code == 422


async def test_an_sla_on_a_metric_outside_the_catalog_holds_readiness_back_as_no_data(
    services: Services, as_engagements: httpx.AsyncClient
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    told = sla_set(engagement, uuid4(), metric_key="ticket_backlog", comparator="lte", target=50)
    assert (await as_engagements.post(MESSAGES_PATH, json=told)).status_code == 200
    [line] = (await services.kpi.get(f"/v1/scorecards/{engagement['id']}")).json()["lines"]
    assert (line["metric_key"], line["metric_name"], line["unit"], line["status"]) == (
        "ticket_backlog",
        None,
        None,
        "no_data",
    )
    verdict = (
        await services.kpi.get(f"/v1/scorecards/{engagement['id']}/transfer-readiness")
    ).json()
    assert verdict["ready"] is False
