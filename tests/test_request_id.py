import re

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from handover_talent.config import Settings as TalentSettings
from handover_talent.main import create_app as create_talent
from tests import builders
from tests.conftest import Services, as_service
from tests.identity import SERVICE_SETTINGS


async def test_request_id_is_returned_as_given(services: Services) -> None:
    response = await services.kpi.get("/v1/metrics", headers={"X-Request-ID": "portal-42"})
    assert response.headers["x-request-id"] == "portal-42"


async def test_request_id_is_minted_when_absent(services: Services) -> None:
    response = await services.kpi.get("/v1/metrics")
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_request_id_that_could_forge_log_lines_is_replaced(services: Services) -> None:
    response = await services.kpi.get(
        "/v1/metrics", headers={"X-Request-ID": 'x" level=error forged'}
    )
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


class Recording(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


async def test_request_id_is_passed_on_to_the_services_it_calls(
    services: Services, database_url: URL
) -> None:
    recording = Recording(httpx.ASGITransport(app=services.apps["engagements"]))
    talent_app = create_talent(
        TalentSettings.with_database(as_service(database_url), **SERVICE_SETTINGS),
        transports={"engagements": recording},
    )
    engagement = await builders.create_engagement(services.engagements)
    async with (
        LifespanManager(talent_app) as talent,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=talent.app),
            base_url="http://t",
            headers={"Authorization": f"Bearer {services.admin_key}"},
        ) as talent_client,
    ):
        response = await talent_client.post(
            "/v1/requisitions",
            json={"engagement_id": engagement["id"], "title": "Analyst", "headcount": 3},
            headers={"X-Request-ID": "hire-7"},
        )
    assert response.status_code == 201, response.text
    lookups = [r for r in recording.requests if "/engagements/" in r.url.path]
    assert [r.headers["x-request-id"] for r in lookups] == ["hire-7"]
