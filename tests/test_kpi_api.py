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
    keys: list[str] = []
    cursor = None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = (await services.kpi.get("/v1/metrics", params=params)).json()
        keys.extend(item["key"] for item in page["items"])
        if (cursor := page["next_cursor"]) is None:
            break
    assert keys == sorted(BUILT_IN)


async def test_metric_is_found_by_key(services: Services) -> None:
    metric = (await services.kpi.get("/v1/metrics/time_to_hire")).json()
    assert (metric["unit"], metric["direction"]) == ("days", "lower_is_better")


async def test_unknown_metric_is_404(services: Services) -> None:
    response = await services.kpi.get("/v1/metrics/no_such_metric")
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/metric-not-found"
