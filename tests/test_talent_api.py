import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from handover_talent.config import Settings
from handover_talent.main import create_app
from tests import builders
from tests.conftest import Services, as_service
from tests.identity import SERVICE_SETTINGS

MISSING = "0196f5b4-7d3c-7000-8000-000000000000"


async def test_requisition_for_an_engagement_starts_as_draft(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    response = await services.talent.post(
        "/v1/requisitions",
        json={"engagement_id": engagement["id"], "title": "Claims analyst", "headcount": 12},
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "draft"
    fetched = await services.talent.get(response.headers["location"])
    assert fetched.json() == response.json()


async def test_requisition_for_an_unknown_engagement_is_refused(services: Services) -> None:
    response = await services.talent.post(
        "/v1/requisitions", json={"engagement_id": MISSING, "title": "Analyst", "headcount": 1}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "engagement_id"]
    assert (await services.talent.get("/v1/requisitions")).json()["items"] == []


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(
    "upstream",
    [
        _refuse,
        lambda request: httpx.Response(500, json={"title": "boom"}),
        # A 404 that is not about the engagement: a wrong URL or a proxy, not an answer.
        lambda request: httpx.Response(404, text="404 page not found"),
        lambda request: httpx.Response(200, json={"unexpected": True}),
    ],
    ids=["refused", "server-error", "foreign-404", "unreadable"],
)
async def test_engagements_unavailable_is_a_503_naming_it(
    services: Services, database_url: URL, upstream
) -> None:
    # The principal directory still comes from engagements; only the engagement lookup fails.
    directory = httpx.ASGITransport(app=services.apps["engagements"])

    async def engagements(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/internal/v1/engagements/"):
            return upstream(request)
        return await directory.handle_async_request(request)

    app = create_app(
        Settings.with_database(as_service(database_url), **SERVICE_SETTINGS),
        transports={"engagements": httpx.MockTransport(engagements)},
    )
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://t",
            headers={"Authorization": f"Bearer {services.admin_key}"},
        ) as t,
    ):
        response = await t.post(
            "/v1/requisitions", json={"engagement_id": MISSING, "title": "Analyst", "headcount": 1}
        )
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["dependency"] == "engagements"
        assert (await t.get("/v1/requisitions")).json()["items"] == []
