import pytest

from tests import builders
from tests.conftest import Services


async def test_new_engagement_starts_in_build(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements, delivery_model="bto")
    assert engagement["phase"] == "build"
    assert engagement["delivery_model"] == "bto"
    fetched = await services.engagements.get(f"/v1/engagements/{engagement['id']}")
    assert fetched.json() == engagement


async def test_create_answers_with_the_location_of_the_new_resource(services: Services) -> None:
    response = await services.engagements.post(
        "/v1/organizations", json=builders.organization(name="Fabrikam")
    )
    assert response.headers["location"] == f"/v1/organizations/{response.json()['id']}"


async def test_engagement_parties_must_be_a_client_and_a_partner(services: Services) -> None:
    client = await builders.create_organization(services.engagements, name="A", kind="client")
    other = await builders.create_organization(services.engagements, name="B", kind="client")
    response = await services.engagements.post(
        "/v1/engagements",
        json={
            "name": "Wrong way round",
            "client_id": client["id"],
            "partner_id": other["id"],
            "delivery_model": "bot",
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "partner_id"]


async def test_engagements_filter_by_client(services: Services) -> None:
    first = await builders.create_engagement(services.engagements)
    await builders.create_engagement(services.engagements)
    page = (
        await services.engagements.get("/v1/engagements", params={"client_id": first["client_id"]})
    ).json()
    assert [item["id"] for item in page["items"]] == [first["id"]]


@pytest.mark.parametrize("path", ["/v1/organizations", "/v1/engagements"])
async def test_pagination_walks_every_item_once(services: Services, path: str) -> None:
    for _ in range(3):
        await builders.create_engagement(services.engagements)
    seen = [item["id"] for item in await builders.every_item(services.engagements, path, limit=2)]
    expected = 6 if path == "/v1/organizations" else 3
    assert len(seen) == len(set(seen)) == expected
