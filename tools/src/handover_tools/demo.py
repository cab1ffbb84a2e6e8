"""A small, believable data set, loaded through the gateway like any client would."""

import httpx

ORGANIZATIONS = [
    {"name": "Northwind Health", "kind": "client"},
    {"name": "Contoso Financial", "kind": "client"},
    {"name": "Meridian Delivery Partners", "kind": "partner"},
]


def load(gateway_url: str, api_key: str) -> bool:
    """Load the demo data unless organizations exist already. Returns whether it loaded."""
    with httpx.Client(
        base_url=gateway_url, timeout=10.0, headers={"Authorization": f"Bearer {api_key}"}
    ) as client:
        if client.get("/v1/organizations", params={"limit": 1}).raise_for_status().json()["items"]:
            return False
        ids = {
            org["name"]: client.post("/v1/organizations", json=org).raise_for_status().json()["id"]
            for org in ORGANIZATIONS
        }
        partner = ids["Meridian Delivery Partners"]
        engagements = [
            {
                "name": "Northwind claims operations, Manila",
                "client_id": ids["Northwind Health"],
                "partner_id": partner,
                "delivery_model": "bot",
            },
            {
                "name": "Contoso finance back office, Kraków",
                "client_id": ids["Contoso Financial"],
                "partner_id": partner,
                "delivery_model": "bto",
            },
        ]
        for engagement in engagements:
            created = client.post("/v1/engagements", json=engagement).raise_for_status().json()
            for title, headcount in (("Claims analyst", 12), ("Team lead", 2)):
                client.post(
                    "/v1/requisitions",
                    json={"engagement_id": created["id"], "title": title, "headcount": headcount},
                ).raise_for_status()
    return True
