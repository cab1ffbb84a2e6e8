"""Who gets in: people with OIDC tokens, machines with API keys, services with signed tokens."""

import asyncio
import hashlib
import re
import time
from typing import Any
from uuid import uuid4

import jwt
import pytest
import structlog
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from handover_kit.credentials import development_seed, mint_service_token, private_key_from_seed
from tests import builders
from tests.conftest import Services, openapi_document
from tests.identity import IdentityProvider


def _operations(services: Services) -> list[tuple[str, str, str]]:
    """Every documented operation of every service: (service, method, path)."""
    return [
        (name, method.upper(), path)
        for name in services.apps
        for path, item in openapi_document(name)["paths"].items()
        for method in item
    ]


async def test_every_operation_refuses_a_caller_without_credentials(services: Services) -> None:
    anonymous = await services.acting_as(None)
    operations = _operations(services)
    assert len(operations) >= 15
    for name, method, path in operations:
        client = getattr(anonymous, name)
        # A well-formed id fits every path parameter, typed or not: the route is found.
        response = await client.request(method, re.sub(r"\{[^}]+\}", str(uuid4()), path))
        assert response.status_code == 401, (name, method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_persons_token_acts_for_their_organization_with_their_roles_scopes(
    services: Services, identity_provider: IdentityProvider
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    await builders.grant(services.engagements, engagement["client_id"], "viewer-1", "viewer")
    viewer = await services.acting_as(identity_provider.token("viewer-1"))

    listed = await viewer.engagements.get("/v1/engagements")
    assert [e["id"] for e in listed.json()["items"]] == [engagement["id"]]
    refused = await viewer.talent.post(
        "/v1/requisitions",
        json={"engagement_id": engagement["id"], "title": "Analyst", "headcount": 1},
    )
    assert refused.status_code == 403
    assert refused.json()["missing_scopes"] == ["talent:write"]


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda idp: idp.token("member-1", expires_in=-120), id="expired"),
        pytest.param(lambda idp: idp.token("member-1", audience="another-api"), id="audience"),
        pytest.param(lambda idp: idp.token("member-1", issuer="https://evil.test/"), id="issuer"),
        pytest.param(
            lambda idp: idp.token(
                "member-1", key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
            ),
            id="foreign-key",
        ),
        pytest.param(lambda idp: idp.token("member-1", kid="unknown-kid"), id="unknown-kid"),
        pytest.param(
            lambda idp: jwt.encode(
                {"iss": "https://idp.test/", "sub": "member-1", "aud": "handover"},
                key="",
                algorithm="none",
            ),
            id="alg-none",
        ),
        pytest.param(
            # Algorithm confusion: an HMAC "signed" with the provider's public key.
            lambda idp: jwt.encode(
                {
                    "iss": "https://idp.test/",
                    "sub": "member-1",
                    "aud": "handover",
                    "iat": int(time.time()),
                    "exp": int(time.time()) + 60,
                },
                key=hashlib.sha256(str(idp.jwks()).encode()).digest(),
                algorithm="HS256",
                headers={"kid": idp.kid},
            ),
            id="hs256",
        ),
        pytest.param(lambda idp: "not.a.token", id="garbage"),
    ],
)
async def test_a_token_that_fails_verification_is_refused(
    services: Services, identity_provider: IdentityProvider, forge: Any
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    await builders.grant(services.engagements, engagement["client_id"], "member-1")
    assert (
        await (await services.acting_as(identity_provider.token("member-1"))).engagements.get(
            "/v1/engagements"
        )
    ).status_code == 200

    forged = await services.acting_as(forge(identity_provider))
    for client, path in (
        (forged.engagements, "/v1/engagements"),
        (forged.talent, "/v1/requisitions"),
        (forged.kpi, "/v1/metrics"),
    ):
        response = await client.get(path)
        assert response.status_code == 401, response.text


async def test_a_verified_person_without_a_membership_is_forbidden(
    services: Services, identity_provider: IdentityProvider
) -> None:
    stranger = await services.acting_as(identity_provider.token("nobody"))
    response = await stranger.kpi.get("/v1/metrics")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_api_key_is_shown_once_stored_as_a_digest_and_works_everywhere(
    services: Services, database_url: URL
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    created = await builders.create_api_key(
        services.engagements,
        ["engagements:read", "talent:read", "kpi:read"],
        organization_id=engagement["partner_id"],
    )
    key = created["key"]
    assert key.startswith("hov_live_")
    assert len(key) > 40
    fetched = await services.engagements.get(f"/v1/api-keys/{created['id']}")
    assert "key" not in fetched.json()
    assert key.startswith(fetched.json()["prefix"])

    engine = create_async_engine(database_url.set(drivername="postgresql+asyncpg"))
    async with engine.connect() as connection:
        row = (
            (
                await connection.execute(
                    text("SELECT * FROM engagements.api_keys WHERE id = :id"), {"id": created["id"]}
                )
            )
            .mappings()
            .one()
        )
    await engine.dispose()
    assert key not in {str(value) for value in row.values()}
    assert row["secret_sha256"] == hashlib.sha256(key.encode()).hexdigest()

    machine = await services.acting_as(key)
    assert (await machine.engagements.get(f"/v1/engagements/{engagement['id']}")).status_code == 200
    assert (await machine.talent.get("/v1/requisitions")).status_code == 200
    assert (await machine.kpi.get("/v1/metrics")).status_code == 200
    assert (await machine.kpi.get("/v1/metrics")).status_code == 200
    refused = await machine.talent.post(
        "/v1/requisitions", json={"engagement_id": engagement["id"], "title": "A", "headcount": 1}
    )
    assert refused.status_code == 403


async def test_the_access_log_names_a_caller_by_its_principal_never_its_key(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    created = await builders.create_api_key(
        services.engagements, ["engagements:read"], organization_id=engagement["partner_id"]
    )
    machine = await services.acting_as(created["key"])
    with structlog.testing.capture_logs() as lines:
        read = await machine.engagements.get(f"/v1/engagements/{engagement['id']}")
        refused = await machine.engagements.post("/v1/organizations", json={})
    assert (read.status_code, refused.status_code) == (200, 403)
    logged = [(line["status"], line["principal"]) for line in lines if line["event"] == "request"]
    assert logged == [(200, f"api_key:{created['id']}"), (403, f"api_key:{created['id']}")]
    assert created["key"] not in repr(lines)


async def test_a_revoked_key_is_refused_by_every_service(services: Services) -> None:
    created = await builders.create_api_key(services.engagements, ["kpi:read", "talent:read"])
    machine = await services.acting_as(created["key"])
    assert (await machine.kpi.get("/v1/metrics")).status_code == 200

    revoked = await services.engagements.delete(f"/v1/api-keys/{created['id']}")
    assert revoked.status_code == 204
    assert (await services.engagements.delete(f"/v1/api-keys/{created['id']}")).status_code == 204
    # The services refresh the directory every 0.2 s here; revocation is bounded by that.
    deadline = time.monotonic() + 3.0
    statuses: dict[str, int] = {}
    while time.monotonic() < deadline:
        statuses = {
            "talent": (await machine.talent.get("/v1/requisitions")).status_code,
            "kpi": (await machine.kpi.get("/v1/metrics")).status_code,
        }
        if set(statuses.values()) == {401}:
            break
        await asyncio.sleep(0.05)
    assert statuses == {"talent": 401, "kpi": 401}
    listed = await services.engagements.get(f"/v1/api-keys/{created['id']}")
    assert listed.json()["revoked_at"] is not None


async def test_a_keys_last_use_is_recorded_even_when_another_service_saw_it(
    services: Services,
) -> None:
    created = await builders.create_api_key(services.engagements, ["kpi:read"])
    assert created["last_used_at"] is None
    machine = await services.acting_as(created["key"])
    assert (await machine.kpi.get("/v1/metrics")).status_code == 200
    deadline = time.monotonic() + 3.0
    last_used = None
    while last_used is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        last_used = (await services.engagements.get(f"/v1/api-keys/{created['id']}")).json()[
            "last_used_at"
        ]
    assert last_used is not None


async def test_a_key_cannot_be_granted_more_than_its_creator_holds(
    services: Services, identity_provider: IdentityProvider
) -> None:
    organization = await builders.create_organization(services.engagements, kind="partner")
    await builders.grant(services.engagements, organization["id"], "org-admin", "admin")
    admin = await services.acting_as(identity_provider.token("org-admin"))
    too_much = await admin.engagements.post(
        "/v1/api-keys", json={"name": "x", "scopes": ["platform:admin"]}
    )
    assert too_much.status_code == 403
    own = await admin.engagements.post(
        "/v1/api-keys", json={"name": "HRIS push", "scopes": ["talent:events:write"]}
    )
    assert own.status_code == 201
    assert own.json()["organization_id"] == organization["id"]
    assert own.headers["cache-control"] == "no-store"


async def test_internal_endpoints_take_service_tokens_only(services: Services) -> None:
    path = "/internal/v1/directory"
    anonymous = await services.acting_as(None)
    assert (await anonymous.engagements.get(path)).status_code == 401
    assert (await services.engagements.get(path)).status_code == 403  # a platform admin's key

    talent_key = private_key_from_seed(development_seed("talent"))
    genuine = mint_service_token("talent", talent_key, audience="engagements")
    assert (await (await services.acting_as(genuine)).engagements.get(path)).status_code == 200

    for forged in (
        mint_service_token("talent", talent_key, audience="kpi"),  # addressed elsewhere
        mint_service_token("talent", private_key_from_seed(development_seed("x")), "engagements"),
    ):
        response = await (await services.acting_as(forged)).engagements.get(path)
        assert response.status_code == 401
