"""Limits that keep one caller from hurting the others, and secrets out of logs."""

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from handover_talent.config import Settings as TalentSettings
from handover_talent.main import create_app as create_talent
from tests import builders
from tests.conftest import Services, as_service
from tests.identity import SERVICE_SETTINGS, IdentityProvider

FRONTEND = "https://portal.example.com"


@pytest.fixture
async def strict_talent(services: Services, database_url: URL) -> AsyncIterator[httpx.AsyncClient]:
    """A talent service with a tiny rate limit, body cap and one allowed frontend origin."""
    settings = TalentSettings.with_database(
        as_service(database_url),
        **SERVICE_SETTINGS,
        rate_limit="3/minute",
        max_body_bytes=2048,
        HANDOVER_CORS_ORIGINS=[FRONTEND],
    )
    app = create_talent(
        settings, transports={"engagements": httpx.ASGITransport(app=services.apps["engagements"])}
    )
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://talent"
        ) as client,
    ):
        yield client


async def test_a_principal_over_its_rate_limit_gets_429_with_retry_after(
    services: Services, strict_talent: httpx.AsyncClient
) -> None:
    first = await builders.create_api_key(services.engagements, ["talent:read"])
    second = await builders.create_api_key(services.engagements, ["talent:read"])
    as_first = {"Authorization": f"Bearer {first['key']}"}
    for _ in range(3):
        assert (await strict_talent.get("/v1/requisitions", headers=as_first)).status_code == 200
    limited = await strict_talent.get("/v1/requisitions", headers=as_first)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # The limit is per principal: another key is unaffected.
    other = await strict_talent.get(
        "/v1/requisitions", headers={"Authorization": f"Bearer {second['key']}"}
    )
    assert other.status_code == 200


async def test_an_oversized_body_is_refused_before_it_is_read(
    services: Services, strict_talent: httpx.AsyncClient
) -> None:
    headers = {"Authorization": f"Bearer {services.admin_key}", "Content-Type": "application/json"}
    declared = await strict_talent.post("/v1/requisitions", content=b"x" * 4096, headers=headers)
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * 1024

    streamed = await strict_talent.post("/v1/requisitions", content=chunks(), headers=headers)
    assert streamed.status_code == 413


async def test_cors_answers_only_the_named_frontend(strict_talent: httpx.AsyncClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    allowed = await strict_talent.options(
        "/v1/requisitions", headers={"Origin": FRONTEND, **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == FRONTEND
    stranger = await strict_talent.options(
        "/v1/requisitions", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in stranger.headers


async def test_pagination_limits_are_enforced(services: Services) -> None:
    response = await services.engagements.get("/v1/engagements", params={"limit": 10_000})
    assert response.status_code == 422


async def test_secrets_and_candidate_data_never_reach_the_logs(
    services: Services,
    database_url: URL,
    identity_provider: IdentityProvider,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    await builders.grant(services.engagements, engagement["client_id"], "logged-person")
    key = await builders.create_api_key(services.engagements, ["talent:read", "talent:write"])
    token = identity_provider.token("logged-person")
    person = await services.acting_as(token)
    machine = await services.acting_as(key["key"])
    candidate = "Maria Dela Cruz <maria.delacruz@example.com>"

    await machine.talent.post(
        "/v1/requisitions",
        json={"engagement_id": engagement["id"], "title": candidate, "headcount": 1},
    )
    await machine.talent.post("/v1/requisitions", json={"engagement_id": "bad", "title": candidate})
    await person.talent.get("/v1/requisitions", params={"q": candidate})
    await (await services.acting_as(key["key"] + "x")).talent.get("/v1/requisitions")
    await (await services.acting_as(token + "x")).kpi.get("/v1/metrics")
    # A talent instance whose directory source is down logs its failures too.
    broken = create_talent(
        TalentSettings.with_database(as_service(database_url), **SERVICE_SETTINGS),
        transports={"engagements": httpx.MockTransport(lambda r: httpx.Response(500))},
    )
    async with (
        LifespanManager(broken) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://t"
        ) as client,
    ):
        await client.get("/v1/requisitions", headers={"Authorization": f"Bearer {key['key']}"})

    logged = capsys.readouterr()
    output = logged.out + logged.err
    assert "request" in output  # the access log did run
    for secret in (key["key"], token, services.admin_key, "maria", "Maria", "Dela Cruz"):
        assert secret not in output
