import pytest

from tests import builders
from tests.conftest import Services

BUILT_IN = {
    "productivity_output",
    "quality_score",
    "sla_compliance",
    "retention_rate",
    "attrition_rate",
    "time_to_hire",
    "offer_acceptance_rate",
    "onboarding_time",
    "head_count",
    "cost_per_role",
    "partner_fee",
}


async def test_catalog_holds_the_bot_metrics_in_key_order(services: Services) -> None:
    metrics = await builders.every_item(services.kpi, "/v1/metrics", limit=4)
    assert [metric["key"] for metric in metrics] == sorted(BUILT_IN)


async def test_metric_is_found_by_key(services: Services) -> None:
    metric = (await services.kpi.get("/v1/metrics/time_to_hire")).json()
    assert (metric["unit"], metric["direction"]) == ("days", "lower_is_better")


async def test_unknown_metric_is_404(services: Services) -> None:
    response = await services.kpi.get("/v1/metrics/no_such_metric")
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/metric-not-found"


def custom_metric(**overrides: object) -> dict[str, object]:
    return {
        "key": "first_contact_resolution",
        "name": "First contact resolution",
        "description": "Share of contacts resolved without a follow-up, from 0 to 100.",
        "unit": "percent",
        "aggregation": "avg",
        "direction": "higher_is_better",
        **overrides,
    }


async def test_a_platform_administrator_adds_a_custom_metric_to_the_one_catalog(
    services: Services,
) -> None:
    created = await services.kpi.post("/v1/metrics", json=custom_metric())
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/v1/metrics/first_contact_resolution"
    assert created.json()["built_in"] is False
    found = await services.kpi.get("/v1/metrics/first_contact_resolution")
    assert found.json() == created.json()
    again = await services.kpi.post("/v1/metrics", json=custom_metric(name="Again"))
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/metric-exists"


@pytest.mark.parametrize(
    "key", ["Time_To_Hire", "time__to_hire", "trailing_", "_leading", "9lives", "x" * 65]
)
async def test_a_metric_key_that_is_not_lowercase_snake_case_is_refused(
    services: Services, key: str
) -> None:
    response = await services.kpi.post("/v1/metrics", json=custom_metric(key=key))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "key"]


async def test_a_custom_metric_needs_a_known_unit_aggregation_and_direction(
    services: Services,
) -> None:
    for field in ("unit", "aggregation", "direction"):
        response = await services.kpi.post("/v1/metrics", json=custom_metric(**{field: "other"}))
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", field]


async def test_only_platform_administrators_add_metrics(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    key = await builders.create_api_key(
        services.engagements,
        ["kpi:read", "kpi:write", "organization:admin"],
        organization_id=engagement["client_id"],
    )
    tenant = await services.acting_as(key["key"])
    assert (await tenant.kpi.post("/v1/metrics", json=custom_metric())).status_code == 403
    assert (await services.kpi.get("/v1/metrics/first_contact_resolution")).status_code == 404
