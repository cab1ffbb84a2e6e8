"""A small, believable data set, loaded through the gateway like any client would.

It shows an engagement in every phase. The gates of later phases ask talent and kpi for
evidence (a team hired, employment moved, a passing scorecard) that a demo does not have, so
those moves are a platform administrator's override, with the reason recorded in each
engagement's audit trail, as an operator would do when migrating engagements from elsewhere.
"""

from typing import Any

import httpx

ORGANIZATIONS = [
    {"name": "Northwind Health", "kind": "client"},
    {"name": "Contoso Financial", "kind": "client"},
    {"name": "Fabrikam Retail", "kind": "client"},
    {"name": "Meridian Delivery Partners", "kind": "partner"},
]
MIGRATED = "Demo data: an engagement migrated in this phase, without its evidence."

_ENTITIES = {
    ("Northwind Health", "PH"): ("Northwind Health Philippines, Inc.", "CS202301234"),
    ("Contoso Financial", "PL"): ("Contoso Financial Polska sp. z o.o.", "0000912345"),
    ("Fabrikam Retail", "IN"): ("Fabrikam Retail India Pvt. Ltd.", "U52100KA2022PTC1"),
    ("Meridian Delivery Partners", "PH"): ("Meridian Delivery PH, Inc.", "CS201900042"),
    ("Meridian Delivery Partners", "PL"): ("Meridian Delivery Polska sp. z o.o.", "0000812345"),
    ("Meridian Delivery Partners", "IN"): ("Meridian Delivery India Pvt. Ltd.", "U74999MH2019PTC3"),
}


PLANNED_PHASES = {
    "build": {"start": "2025-02-01", "end": "2025-04-30"},
    "operate": {"start": "2025-05-01", "end": "2026-10-31"},
    "transfer": {"start": "2026-11-01", "end": "2027-01-31"},
}


# name, client, country, site, model, functions, headcount, phases to move through.
ENGAGEMENTS: list[tuple[str, str, str, str, str, list[str], int, list[str]]] = [
    (
        "Northwind claims operations, Manila",
        "Northwind Health",
        "PH",
        "Manila",
        "bot",
        ["healthcare_billing", "back_office"],
        40,
        ["operate"],
    ),
    (
        "Northwind revenue cycle, Cebu",
        "Northwind Health",
        "PH",
        "Cebu",
        "bot",
        ["healthcare_billing"],
        25,
        ["operate", "transfer"],
    ),
    (
        "Northwind IT service desk, Manila",
        "Northwind Health",
        "PH",
        "Manila",
        "bot",
        ["it_support"],
        15,
        ["operate", "transfer", "transferred"],
    ),
    (
        "Contoso finance back office, Kraków",
        "Contoso Financial",
        "PL",
        "Kraków",
        "bto",
        ["finance_operations", "back_office"],
        30,
        [],
    ),
    (
        "Contoso data platform, Wrocław",
        "Contoso Financial",
        "PL",
        "Wrocław",
        "bto",
        ["data_ai", "software_engineering"],
        12,
        ["transfer", "transferred"],
    ),
    (
        "Fabrikam customer care, Bengaluru",
        "Fabrikam Retail",
        "IN",
        "Bengaluru",
        "bot",
        ["customer_experience"],
        60,
        ["operate", "managed"],
    ),
    (
        "Fabrikam e-commerce engineering, Pune",
        "Fabrikam Retail",
        "IN",
        "Pune",
        "hybrid",
        ["software_engineering"],
        20,
        ["terminated"],
    ),
]


def load(gateway_url: str, api_key: str, transport: httpx.BaseTransport | None = None) -> bool:
    """Load the demo data unless organizations exist already. Returns whether it loaded."""
    with httpx.Client(
        base_url=gateway_url,
        timeout=30.0,
        headers={"Authorization": f"Bearer {api_key}"},
        transport=transport,
    ) as client:
        if client.get("/v1/organizations", params={"limit": 1}).raise_for_status().json()["items"]:
            return False
        ids = {
            org["name"]: client.post("/v1/organizations", json=org).raise_for_status().json()["id"]
            for org in ORGANIZATIONS
        }
        entities = {
            key: client.post(
                f"/v1/organizations/{ids[key[0]]}/entities",
                json={"name": name, "country": key[1], "registration_number": number},
            )
            .raise_for_status()
            .json()["id"]
            for key, (name, number) in _ENTITIES.items()
        }
        partner = "Meridian Delivery Partners"
        for number, (
            name,
            client_name,
            country,
            site,
            model,
            functions,
            headcount,
            moves,
        ) in enumerate(ENGAGEMENTS):
            created = (
                client.post(
                    "/v1/engagements",
                    json={
                        "name": name,
                        "client_id": ids[client_name],
                        "partner_id": ids[partner],
                        "delivery_model": model,
                        "business_functions": functions,
                        "destination_country": country,
                        "site": site,
                        "planned_headcount": headcount,
                        "contract_signed_on": "2025-01-15",
                        "planned_phases": PLANNED_PHASES,
                        "transfer_option": {
                            "exercise_window": {"start": "2026-05-01", "end": "2026-10-31"},
                            "notice_period_days": 90,
                            "fee": {"amount": f"{headcount * 6000}.00", "currency": "USD"},
                        },
                        "partner_entity_id": entities[(partner, country)],
                        "client_entity_id": entities[(client_name, country)],
                    },
                    headers={"Idempotency-Key": f"demo-engagement-{number}"},
                )
                .raise_for_status()
                .json()
            )
            _hire(client, created["id"], headcount)
            _move(client, created, moves)
    return True


def _hire(client: httpx.Client, engagement_id: str, headcount: int) -> None:
    for title, count in (("Analyst", headcount - headcount // 8), ("Team lead", headcount // 8)):
        client.post(
            "/v1/requisitions",
            json={"engagement_id": engagement_id, "title": title, "headcount": max(count, 1)},
        ).raise_for_status()


def _move(client: httpx.Client, engagement: dict[str, Any], phases: list[str]) -> None:
    url = f"/v1/engagements/{engagement['id']}"
    etag = f'"{engagement["version"]}"'
    for phase in phases:
        if phase in {"transfer", "transferred"} and engagement["transfer_plan_approved_at"] is None:
            approved = client.post(
                f"{url}/transfer-plan/approval",
                json={"reason": "Scope agreed at contract signing."},
                headers={"If-Match": etag},
            ).raise_for_status()
            etag = approved.headers["ETag"]
            engagement = {**engagement, "transfer_plan_approved_at": "approved"}
        if phase == "transferred":
            _finish_transfer_plan(client, url)
        moved = client.post(
            f"{url}/transitions",
            json={"to_phase": phase, "override": True, "reason": MIGRATED},
            headers={"If-Match": etag},
        ).raise_for_status()
        etag = moved.headers["ETag"]


def _finish_transfer_plan(client: httpx.Client, url: str) -> None:
    items = client.get(f"{url}/transfer-plan/items").raise_for_status().json()["items"]
    for item in items:
        client.patch(
            f"{url}/transfer-plan/items/{item['id']}",
            json={"status": "done"},
            headers={"If-Match": f'"{item["version"]}"'},
        ).raise_for_status()
