"""Series: data points grouped into periods and combined by each metric's aggregation."""

from typing import Any

from tests import builders
from tests.builders import data_point, send_points
from tests.conftest import Services


async def _series(services: Services, **params: Any) -> dict[str, Any]:
    response = await services.kpi.get("/v1/series", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_monthly_series_combines_each_metric_by_its_aggregation(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    points = [
        # productivity_output sums; quality_score averages; head_count keeps the last.
        data_point(engagement, metric_key="productivity_output", at=at, value=value)
        for at, value in [
            ("2026-01-05T00:00:00Z", 10),
            ("2026-01-20T00:00:00Z", 5),
            ("2026-02-01T00:00:00Z", 7),
        ]
    ] + [
        data_point(engagement, metric_key="quality_score", at="2026-01-02T00:00:00Z", value=90),
        data_point(engagement, metric_key="quality_score", at="2026-01-03T00:00:00Z", value=80),
        data_point(engagement, metric_key="head_count", at="2026-01-31T00:00:00Z", value=40),
        data_point(engagement, metric_key="head_count", at="2026-01-01T00:00:00Z", value=30),
    ]
    await send_points(services.kpi, *points)
    body = await _series(
        services,
        metric_key=["productivity_output", "quality_score", "head_count"],
        engagement_id=engagement["id"],
        granularity="month",
        **{"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
    )
    by_metric = {
        s["metric_key"]: [(p["period_start"][:10], p["value"], p["count"]) for p in s["points"]]
        for s in body["series"]
    }
    assert by_metric == {
        "productivity_output": [("2026-01-01", 15.0, 2), ("2026-02-01", 7.0, 1)],
        "quality_score": [("2026-01-01", 85.0, 2)],
        "head_count": [("2026-01-01", 40.0, 2)],
    }


async def test_a_series_keeps_only_the_dimension_asked_for(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    await send_points(
        services.kpi,
        data_point(engagement, metric_key="productivity_output", value=3, dimensions={"team": "a"}),
        data_point(engagement, metric_key="productivity_output", value=4, dimensions={"team": "b"}),
    )
    params = {
        "metric_key": "productivity_output",
        "engagement_id": engagement["id"],
        "granularity": "quarter",
        "from": "2026-01-01T00:00:00Z",
        "to": "2027-01-01T00:00:00Z",
    }
    everything = await _series(services, **params)
    team_a = await _series(services, **params, team="a")
    assert [p["value"] for p in everything["series"][0]["points"]] == [7.0]
    assert [p["value"] for p in team_a["series"][0]["points"]] == [3.0]
    assert everything["series"][0]["points"][0]["period_start"] == "2026-10-01T00:00:00Z"


async def test_another_tenants_engagement_has_no_series(services: Services) -> None:
    mine = await builders.create_engagement(services.engagements)
    theirs = await builders.create_engagement(services.engagements)
    await send_points(services.kpi, data_point(theirs))
    key = await builders.create_api_key(
        services.engagements, ["kpi:read"], organization_id=mine["client_id"]
    )
    client = (await services.acting_as(key["key"])).kpi
    response = await client.get(
        "/v1/series",
        params={
            "metric_key": "quality_score",
            "engagement_id": theirs["id"],
            "from": "2026-01-01T00:00:00Z",
            "to": "2027-01-01T00:00:00Z",
        },
    )
    assert response.status_code == 200
    assert response.json()["series"] == []


async def test_a_series_of_an_unknown_metric_or_an_empty_range_is_a_422(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    base = {"engagement_id": engagement["id"], "from": "2026-01-01T00:00:00Z"}
    unknown = await services.kpi.get(
        "/v1/series", params={**base, "metric_key": "nope", "to": "2026-02-01T00:00:00Z"}
    )
    backwards = await services.kpi.get(
        "/v1/series", params={**base, "metric_key": "quality_score", "to": "2025-01-01T00:00:00Z"}
    )
    too_long = await services.kpi.get(
        "/v1/series",
        params={
            **base,
            "metric_key": "quality_score",
            "to": "2099-01-01T00:00:00Z",
            "granularity": "day",
        },
    )
    assert unknown.status_code == backwards.status_code == too_long.status_code == 422
    assert unknown.json()["type"] == "/problems/unknown-metric"


async def test_a_series_answers_304_to_the_etag_it_gave(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    await send_points(services.kpi, data_point(engagement))
    params = {
        "metric_key": "quality_score",
        "engagement_id": engagement["id"],
        "from": "2026-01-01T00:00:00Z",
        "to": "2027-01-01T00:00:00Z",
    }
    first = await services.kpi.get("/v1/series", params=params)
    again = await services.kpi.get(
        "/v1/series", params=params, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
