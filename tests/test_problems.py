"""Every error kind leaves a service as an RFC 9457 problem document."""

import socket
from dataclasses import replace

import httpx
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.engine import URL

from handover_engagements.config import Settings
from handover_engagements.main import SPEC
from handover_kit.app import create_service_app
from handover_kit.db import database, dsn
from handover_kit.pagination import encode_cursor
from tests import builders
from tests.conftest import Services, as_service

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"]
    assert body["instance"] == response.request.url.path
    return dict(body)


async def test_unknown_route_is_a_404_problem(services: Services) -> None:
    assert_problem(await services.engagements.get("/v1/nothing-here"), 404)


async def test_unknown_resource_is_a_404_problem(services: Services) -> None:
    body = assert_problem(
        await services.engagements.get("/v1/engagements/0196f5b4-7d3c-7000-8000-000000000000"), 404
    )
    assert body["title"] == "Engagement Not Found"


async def test_wrong_method_is_a_405_problem_with_allow(services: Services) -> None:
    response = await services.talent.delete("/v1/requisitions")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"


async def test_invalid_body_is_a_422_problem_with_field_errors(services: Services) -> None:
    response = await services.engagements.post(
        "/v1/organizations", json={"name": "", "kind": "vendor", "secret": "x"}
    )
    body = assert_problem(response, 422)
    locations = {tuple(error["loc"]) for error in body["errors"]}  # type: ignore[attr-defined]
    assert locations == {("body", "name"), ("body", "kind"), ("body", "secret")}


async def test_malformed_json_is_a_422_problem(services: Services) -> None:
    response = await services.engagements.post(
        "/v1/organizations", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 422)


async def test_a_body_that_is_not_utf8_is_a_422_problem_like_malformed_json(
    services: Services,
) -> None:
    response = await services.engagements.post(
        "/v1/organizations",
        content=b'{"name": "\xff"}',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(response, 422)
    assert body["errors"] == [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]


async def test_invalid_query_parameter_is_a_422_problem(services: Services) -> None:
    assert_problem(await services.kpi.get("/v1/metrics", params={"limit": 0}), 422)
    assert_problem(await services.kpi.get("/v1/metrics", params={"cursor": "%%%"}), 422)


async def test_a_cursor_the_api_did_not_issue_is_a_422_problem_whatever_it_decodes_to(
    services: Services,
) -> None:
    nul = encode_cursor("\x00")
    not_an_id = encode_cursor("engagement")
    body = assert_problem(await services.kpi.get("/v1/metrics", params={"cursor": nul}), 422)
    assert body["type"] == "/problems/invalid-cursor"
    response = await services.engagements.get("/v1/engagements", params={"cursor": not_an_id})
    assert assert_problem(response, 422)["type"] == "/problems/invalid-cursor"


async def test_text_with_a_nul_is_a_422_problem_not_a_database_failure(
    services: Services,
) -> None:
    response = await services.engagements.post(
        "/v1/organizations", json=builders.organization(name="Acme\x00Health")
    )
    body = assert_problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["body", "name"]]  # type: ignore[attr-defined]


async def test_conflict_is_a_409_problem(services: Services) -> None:
    await builders.create_organization(services.engagements, name="Contoso")
    response = await services.engagements.post(
        "/v1/organizations", json=builders.organization(name="Contoso")
    )
    body = assert_problem(response, 409)
    assert body["name"] == "Contoso"


async def test_conflict_leaves_the_transaction_usable(services: Services) -> None:
    await builders.create_organization(services.engagements, name="Contoso")
    await services.engagements.post("/v1/organizations", json=builders.organization(name="Contoso"))
    listed = (await services.engagements.get("/v1/organizations")).json()["items"]
    assert [org["name"] for org in listed] == ["Contoso"]


async def test_unexpected_exception_is_a_500_problem_that_leaks_nothing(database_url: URL) -> None:
    broken = APIRouter()

    @broken.get("/v1/broken")
    async def explode() -> None:
        raise RuntimeError("connection string postgresql://admin:hunter2@db")

    spec = replace(SPEC, routers=[*SPEC.routers, broken])
    app = create_service_app(spec, Settings.with_database(as_service(database_url)))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as client:
            response = await client.get("/v1/broken", headers={"X-Request-ID": "trace-500"})
    body = assert_problem(response, 500)
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert body["detail"]
    assert response.headers["x-request-id"] == "trace-500"


async def test_an_unreachable_database_is_a_503_problem_naming_it_not_a_500(
    database_url: URL,
) -> None:
    needs_database = APIRouter()

    @needs_database.get("/v1/needs-database")
    async def query(request: Request) -> None:
        await database(request).scalar(text("SELECT 1"))

    spec = replace(SPEC, routers=[*SPEC.routers, needs_database])
    # A port nothing listens on: the connection is refused, as while PostgreSQL restarts.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    away = database_url.set(host="127.0.0.1", port=port, username=None, password=None)
    app = create_service_app(spec, Settings.with_database(dsn(away)))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as client:
            response = await client.get("/v1/needs-database", headers={"X-Request-ID": "db-away"})
            metrics = (await client.get("/metrics")).text
    body = assert_problem(response, 503)
    # Counted as the 503 it is, so dashboards tell an outage from a bug.
    assert (
        'handover_http_requests_total{method="GET",route="/v1/needs-database",status="503"} 1.0'
        in metrics
    )
    assert body["dependency"] == "database"
    assert response.headers["retry-after"] == "5"
    assert response.headers["x-request-id"] == "db-away"
