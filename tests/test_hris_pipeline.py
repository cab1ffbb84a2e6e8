"""HRIS/ATS deliveries, end to end: pushed through the gateway as Greenhouse, Ashby and
Standard Webhooks send them, processed asynchronously, and found in the pipeline and the team.
Nothing accepted is lost, nothing is applied twice, and the order of arrival does not matter."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests import builders
from tests.conftest import Services

JOB = 4012


@pytest.fixture
async def vendor(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """What a vendor has: the gateway's address and no bearer token."""
    async with httpx.AsyncClient(
        transport=builders.gateway(services.apps), base_url="http://gateway"
    ) as client:
        yield client


async def _requisition(
    services: Services, engagement_id: str, external_job_id: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "engagement_id": engagement_id,
        "title": "Claims analyst",
        "headcount": 2,
    }
    if external_job_id is not None:
        body["external_job_id"] = external_job_id
    response = await services.talent.post("/v1/requisitions", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _applications(services: Services, requisition_id: str) -> list[dict[str, Any]]:
    response = await services.talent.get(
        "/v1/applications", params={"requisition_id": requisition_id}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def _team(services: Services, engagement_id: str) -> list[dict[str, Any]]:
    response = await services.talent.get(
        "/v1/team-members", params={"engagement_id": engagement_id}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def _history(services: Services, application_id: str) -> list[dict[str, Any]]:
    response = await services.talent.get(f"/v1/applications/{application_id}")
    assert response.status_code == 200, response.text
    return list(response.json()["history"])


async def _push(
    vendor: httpx.AsyncClient, source: dict[str, Any], delivery: tuple[dict[str, str], bytes]
) -> httpx.Response:
    headers, body = delivery
    return await vendor.post(source["webhook_path"], content=body, headers=headers)


def _greenhouse_story(
    secret: str, candidate: int, application: int
) -> list[tuple[dict[str, str], bytes]]:
    """One candidate's way to a hire, as Greenhouse tells it, in the order it happened."""

    def at(minute: int) -> str:
        return f"2025-03-01T09:{minute:02d}:00Z"

    def app(stage: str, minute: int, **extra: Any) -> dict[str, Any]:
        return builders.greenhouse_application(
            application, candidate, JOB, stage=stage, last_activity_at=at(minute), **extra
        )

    offer = {
        "id": 4141,
        "application_id": application,
        "job_id": JOB,
        "candidate_id": candidate,
        "version": 1,
        "start_date": "2025-04-01",
    }
    return [
        builders.greenhouse_delivery(
            secret, "new_candidate_application", app("Application Review", 1)
        ),
        builders.greenhouse_delivery(secret, "candidate_stage_change", app("Phone Screen", 2)),
        builders.greenhouse_delivery(secret, "candidate_stage_change", app("Face to Face", 3)),
        builders.greenhouse_delivery(
            secret, "offer_created", {**offer, "offer_status": "Created", "created_at": at(4)}
        ),
        builders.greenhouse_delivery(
            secret, "offer_updated", {**offer, "offer_status": "Accepted", "updated_at": at(5)}
        ),
        builders.greenhouse_delivery(
            secret, "hire_candidate", app("Offer", 6, starts_at="2025-04-01")
        ),
    ]


def _state(application: dict[str, Any]) -> tuple[Any, ...]:
    return (
        application["stage"],
        application["start_date"],
        application["offer_accepted"],
        application["external_id"],
    )


def _member(member: dict[str, Any]) -> tuple[Any, ...]:
    return (member["status"], member["start_date"], member["title"])


async def test_greenhouse_deliveries_with_retries_and_forgeries_build_the_pipeline_and_the_team(
    services: Services, vendor: httpx.AsyncClient
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    requisition = await _requisition(services, engagement["id"], str(JOB))
    source = await builders.create_hris_source(services.talent, engagement["id"], "greenhouse")
    story = _greenhouse_story(source["secret"], candidate=201, application=101)

    for delivery in story:
        assert (await _push(vendor, source, delivery)).status_code == 202
    for delivery in story:  # Greenhouse retries every one: acknowledged, not applied again
        assert (await _push(vendor, source, delivery)).status_code == 200
    forged = builders.greenhouse_delivery("not the secret", "unhire_candidate", {})
    assert (await _push(vendor, source, forged)).status_code == 401
    headers, _ = story[0]
    assert (await _push(vendor, source, (headers, b"{not json"))).status_code == 401

    events = await builders.hris_events_settled(services.talent, source["id"])
    originals = [e for e in events if e["duplicate_of"] is None]
    assert [e["status"] for e in originals] == ["applied"] * len(story), originals
    assert sum(e["status"] == "duplicate" for e in events) == len(story)
    (application,) = await _applications(services, requisition["id"])
    assert _state(application) == ("hired", "2025-04-01", True, "101")
    assert len(await _history(services, application["id"])) == len(story)
    (member,) = await _team(services, engagement["id"])
    assert member["start_date"] == "2025-04-01"
    assert member["application_id"] == application["id"]


async def test_events_that_arrive_out_of_order_converge_to_the_state_in_order(
    services: Services, vendor: httpx.AsyncClient
) -> None:
    finals = []
    for order in ("in order", "reversed", "shuffled"):
        engagement = await builders.create_engagement(services.engagements)
        requisition = await _requisition(services, engagement["id"], str(JOB))
        source = await builders.create_hris_source(services.talent, engagement["id"], "greenhouse")
        story = _greenhouse_story(source["secret"], candidate=301, application=102)
        if order == "reversed":
            story.reverse()
        elif order == "shuffled":
            story = [story[i] for i in (3, 0, 5, 1, 4, 2)]
        for delivery in story:
            assert (await _push(vendor, source, delivery)).status_code == 202
        events = await builders.hris_events_settled(services.talent, source["id"])
        assert {e["status"] for e in events} == {"applied"}, (order, events)
        (application,) = await _applications(services, requisition["id"])
        team = await _team(services, engagement["id"])
        finals.append((_state(application), [_member(m) for m in team]))
    assert finals[0] == finals[1] == finals[2]
    assert finals[0][0][0] == "hired"


async def test_an_ashby_hire_carries_its_accepted_offer_into_the_team(
    services: Services, vendor: httpx.AsyncClient
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    requisition = await _requisition(services, engagement["id"], "job-ash-1")
    source = await builders.create_hris_source(services.talent, engagement["id"], "ashby")
    application = builders.ashby_application("app-ash-1", "cand-ash-1", "job-ash-1")
    stage = builders.ashby_delivery(
        source["secret"], "candidateStageChange", {"application": application}
    )
    hire = builders.ashby_delivery(
        source["secret"],
        "candidateHire",
        {
            "application": {
                **application,
                "status": "Hired",
                "updatedAt": "2025-03-02T10:00:00.000Z",
                "currentInterviewStage": {"id": "s", "title": "Hired", "type": "Hired"},
            },
            "offer": {
                "id": "offer-1",
                "acceptanceStatus": "Accepted",
                "latestVersion": {
                    "id": "offer-version-1",
                    "startDate": "2025-05-05",
                    "salary": {"currencyCode": "PHP", "value": 1_200_000},
                },
            },
        },
    )
    assert (await _push(vendor, source, hire)).status_code == 202  # the hire first
    assert (await _push(vendor, source, stage)).status_code == 202
    assert (await _push(vendor, source, hire)).status_code == 200
    events = await builders.hris_events_settled(services.talent, source["id"])
    assert [e["status"] for e in events] == ["applied", "applied", "duplicate"]
    (applied,) = await _applications(services, requisition["id"])
    assert (applied["stage"], applied["start_date"]) == ("hired", "2025-05-05")
    (member,) = await _team(services, engagement["id"])
    assert member["start_date"] == "2025-05-05"


async def test_standard_webhooks_offer_accepted_before_the_interview_converges(
    services: Services, vendor: httpx.AsyncClient
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    requisition = await _requisition(services, engagement["id"], "J-77")
    source = await builders.create_hris_source(services.talent, engagement["id"])
    common = {"candidate": {"external_id": "C-9"}, "application_id": "A-9", "job_id": "J-77"}
    accepted = builders.standard_webhook(
        source["secret"],
        "offer.accepted",
        {**common, "occurred_at": "2025-03-05T09:00:00Z", "start_date": "2025-04-07"},
    )
    interview = builders.standard_webhook(
        source["secret"],
        "application.stage_changed",
        {**common, "occurred_at": "2025-03-01T09:00:00Z", "stage": "interview"},
    )
    for delivery in (accepted, interview):
        assert (await _push(vendor, source, delivery)).status_code == 202
    events = await builders.hris_events_settled(services.talent, source["id"])
    assert [e["status"] for e in events] == ["applied", "applied"]
    (application,) = await _applications(services, requisition["id"])
    assert (application["stage"], application["offer_accepted"]) == ("offer", True)


async def test_an_event_for_an_unknown_job_is_dead_until_replayed_after_the_fix(
    services: Services, vendor: httpx.AsyncClient
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    requisition = await _requisition(services, engagement["id"], None)
    source = await builders.create_hris_source(services.talent, engagement["id"], "greenhouse")
    (created, *_) = _greenhouse_story(source["secret"], candidate=401, application=103)
    assert (await _push(vendor, source, created)).status_code == 202
    (event,) = await builders.hris_events_settled(services.talent, source["id"])
    assert event["status"] == "dead"
    assert str(JOB) in event["reason"]
    assert await _applications(services, requisition["id"]) == []
    dead = await services.talent.get(
        f"/v1/hris/sources/{source['id']}/events", params={"status": "dead"}
    )
    assert [e["id"] for e in dead.json()["items"]] == [event["id"]]

    current = await services.talent.get(f"/v1/requisitions/{requisition['id']}")
    fixed = await services.talent.patch(
        f"/v1/requisitions/{requisition['id']}",
        json={"external_job_id": str(JOB)},
        headers={"If-Match": current.headers["etag"]},
    )
    assert fixed.status_code == 200, fixed.text
    replayed = await services.talent.post(f"/v1/hris/events/{event['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    (event,) = await builders.hris_events_settled(services.talent, source["id"])
    assert (event["status"], event["reason"], event["attempts"]) == ("applied", None, 2)
    (application,) = await _applications(services, requisition["id"])
    assert application["stage"] == "screening"
    again = await services.talent.post(f"/v1/hris/events/{event['id']}/replay")
    assert again.status_code == 409


async def test_a_batch_of_canonical_events_is_applied_like_webhooks_and_once(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    requisition = await _requisition(services, engagement["id"], "B-1")
    source = await builders.create_hris_source(services.talent, engagement["id"])
    events = [
        {
            "kind": "application.created",
            "event_id": f"created-{n}",
            "occurred_at": "2025-03-01T09:00:00Z",
            "candidate": {"external_id": f"batch-{n}"},
            "application_id": f"batch-app-{n}",
            "job_id": "B-1",
        }
        for n in range(20)
    ]
    path = f"/v1/hris/sources/{source['id']}/event-batches"
    assert (await services.talent.post(path, json={"events": events})).status_code == 202
    assert (await services.talent.post(path, json={"events": events[:5]})).status_code == 202
    logged = await builders.hris_events_settled(services.talent, source["id"])
    assert sum(e["status"] == "applied" for e in logged) == 20
    assert sum(e["status"] == "duplicate" for e in logged) == 5
    applications = await _applications(services, requisition["id"])
    assert len(applications) == 20
