"""The Python client against the real services in-process, behind a gateway-like router; faults
the services cannot be made to answer come from a mock transport."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate
from http import HTTPStatus

import httpx
import pytest

from handover_client import (
    AsyncClient,
    Client,
    DeliveryModel,
    EngagementRead,
    MetricRead,
    MetricUnit,
    Phase,
    Problem,
    ProblemError,
    RequisitionRead,
    RequisitionStatus,
    RetryPolicy,
)
from tests import builders
from tests.conftest import Services

MISSING = "0196f5b4-7d3c-7000-8000-000000000000"


@pytest.fixture
async def handover(services: Services) -> AsyncIterator[AsyncClient]:
    transport = builders.gateway(services.apps)
    async with AsyncClient(token=services.admin_key, transport=transport) as client:
        yield client


async def test_iter_engagements_walks_every_page(services: Services, handover: AsyncClient) -> None:
    created = [(await builders.create_engagement(services.engagements))["id"] for _ in range(5)]
    seen = [str(e.id) async for e in handover.iter_engagements(page_size=2)]
    assert seen == created


async def test_engagement_filters_reach_the_api(services: Services, handover: AsyncClient) -> None:
    wanted = await builders.create_engagement(services.engagements, delivery_model="hybrid")
    await builders.create_engagement(services.engagements, delivery_model="bot")
    by_client = [e async for e in handover.iter_engagements(client_id=wanted["client_id"])]
    assert [str(e.id) for e in by_client] == [wanted["id"]]
    by_model = [e async for e in handover.iter_engagements(delivery_model=DeliveryModel.HYBRID)]
    assert [str(e.id) for e in by_model] == [wanted["id"]]
    assert [e async for e in handover.iter_engagements(phase=Phase.OPERATE)] == []


async def test_requisition_created_is_read_back_and_listed_by_engagement_and_status(
    services: Services, handover: AsyncClient
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    await builders.create_engagement(services.engagements)
    created = await handover.create_requisition(engagement["id"], "Claims analyst", 3)
    assert (created.status, created.headcount) == (RequisitionStatus.DRAFT, 3)
    assert await handover.get_requisition(created.id) == created
    drafts = handover.iter_requisitions(
        engagement_id=engagement["id"], status=RequisitionStatus.DRAFT
    )
    assert [r async for r in drafts] == [created]
    opened = handover.iter_requisitions(status=RequisitionStatus.OPEN)
    assert [r async for r in opened] == []


async def test_metric_catalog_reads_into_typed_models(handover: AsyncClient) -> None:
    catalog = [metric async for metric in handover.iter_metrics(page_size=4)]
    assert len(catalog) == 11
    assert all(isinstance(metric, MetricRead) for metric in catalog)
    assert (await handover.get_metric("time_to_hire")).unit is MetricUnit.DAYS


async def test_error_answer_raises_problem_error_with_the_document(
    handover: AsyncClient,
) -> None:
    with pytest.raises(ProblemError) as raised:
        await handover.get_engagement(MISSING)
    problem = raised.value.problem
    assert (problem.status, problem.type) == (404, "/problems/engagement-not-found")
    assert str(raised.value) == f"{problem.title}: {problem.detail}"


async def test_validation_problem_carries_field_errors(handover: AsyncClient) -> None:
    with pytest.raises(ProblemError) as raised:
        await handover.create_requisition(MISSING, "Analyst", 1)
    assert raised.value.status == 422
    assert [error.loc for error in raised.value.errors] == [["body", "engagement_id"]]
    assert "\n  body.engagement_id: " in str(raised.value)


@pytest.mark.parametrize("token", [None, "hov_live_not-a-key"], ids=["none", "wrong"])
async def test_without_a_valid_token_every_call_is_a_401(
    services: Services, token: str | None
) -> None:
    async with AsyncClient(token=token, transport=builders.gateway(services.apps)) as stranger:
        with pytest.raises(ProblemError) as raised:
            await stranger.get_metric("time_to_hire")
    assert raised.value.status == 401


async def test_sync_client_reads_the_same_pages(services: Services, handover: AsyncClient) -> None:
    for _ in range(3):
        await builders.create_engagement(services.engagements)
    blocking = builders.BlockingTransport(
        builders.gateway(services.apps), asyncio.get_running_loop()
    )

    def walk() -> list[EngagementRead]:
        with Client(token=services.admin_key, transport=blocking) as client:
            return list(client.iter_engagements(page_size=2))

    assert await asyncio.to_thread(walk) == [e async for e in handover.iter_engagements()]


async def test_sync_client_raises_the_same_problem(services: Services) -> None:
    blocking = builders.BlockingTransport(
        builders.gateway(services.apps), asyncio.get_running_loop()
    )

    def create() -> RequisitionRead:
        with Client(token=services.admin_key, transport=blocking) as client:
            return client.create_requisition(MISSING, "Analyst", 1)

    with pytest.raises(ProblemError) as raised:
        await asyncio.to_thread(create)
    assert raised.value.errors[0].loc == ["body", "engagement_id"]


# Faults at the transport, for both clients: the retry loop is written once for each.

METRIC = {
    "key": "time_to_hire",
    "name": "Time to hire",
    "description": "Days from opening a requisition to an accepted offer.",
    "unit": "days",
    "aggregation": "avg",
    "direction": "lower_is_better",
    "built_in": True,
    "created_at": "2025-01-01T00:00:00Z",
    "updated_at": "2025-01-01T00:00:00Z",
}
IMMEDIATE = RetryPolicy(backoff=0.0)
"""Retries without waiting when the answer names no wait."""


def _problem(status: int, **headers: str) -> httpx.Response:
    body = {"title": HTTPStatus(status).phrase, "status": status, "detail": "Try later."}
    return httpx.Response(status, json=body, headers=headers)


class Script:
    """Answers requests in turn with the responses given, and keeps the requests."""

    def __init__(self, *answers: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)(request)


async def _call(
    flavour: str, script: Script, *, post: bool = False, retry: RetryPolicy = IMMEDIATE
) -> object:
    """Gets a metric, or with `post` creates a requisition, with the sync or the async client."""
    transport = httpx.MockTransport(script)
    if flavour == "async":
        async with AsyncClient(token="t", transport=transport, retry=retry) as client:
            if post:
                return await client.create_requisition(MISSING, "Analyst", 1)
            return await client.get_metric("time_to_hire")
    with Client(token="t", transport=transport, retry=retry) as blocking:
        if post:
            return blocking.create_requisition(MISSING, "Analyst", 1)
        return blocking.get_metric("time_to_hire")


FLAVOURS = pytest.mark.parametrize("flavour", ["sync", "async"])


@FLAVOURS
@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_get_is_retried_after_a_passing_failure(flavour: str, status: int) -> None:
    script = Script(
        lambda _: _problem(status, **{"Retry-After": "0"}),
        lambda _: httpx.Response(200, json=METRIC),
    )
    metric = await _call(flavour, script)
    assert isinstance(metric, MetricRead)
    assert len(script.requests) == 2


@FLAVOURS
async def test_get_is_retried_after_a_network_error(flavour: str) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    script = Script(refuse, lambda _: httpx.Response(200, json=METRIC))
    assert isinstance(await _call(flavour, script), MetricRead)


@FLAVOURS
async def test_retries_stop_after_the_attempts_allowed(flavour: str) -> None:
    script = Script(*[lambda _: _problem(503, **{"Retry-After": "0"})] * 3)
    with pytest.raises(ProblemError) as raised:
        await _call(flavour, script, retry=RetryPolicy(attempts=3))
    assert raised.value.status == 503
    assert len(script.requests) == 3


@FLAVOURS
async def test_post_is_never_retried(flavour: str) -> None:
    script = Script(lambda _: _problem(503, **{"Retry-After": "0"}))
    with pytest.raises(ProblemError):
        await _call(flavour, script, post=True)
    assert len(script.requests) == 1


@FLAVOURS
async def test_a_wait_longer_than_max_wait_is_not_waited_for(flavour: str) -> None:
    script = Script(lambda _: _problem(429, **{"Retry-After": "3600"}))
    started = time.monotonic()
    with pytest.raises(ProblemError) as raised:
        await _call(flavour, script, retry=RetryPolicy(max_wait=10))
    assert time.monotonic() - started < 1
    assert raised.value.retry_after == 3600


def test_retry_waits_what_retry_after_says_in_either_form() -> None:
    policy = RetryPolicy(attempts=3, backoff=0.5, max_wait=60)
    request = httpx.Request("GET", "http://handover/v1/metrics")
    in_seconds = httpx.Response(503, headers={"Retry-After": "7"})
    as_a_date = httpx.Response(429, headers={"Retry-After": formatdate(time.time() + 30)})
    unsaid = httpx.Response(502)
    assert policy.delay(request, 1, in_seconds) == 7
    assert 28 <= (policy.delay(request, 1, as_a_date) or 0) <= 30
    assert [policy.delay(request, attempt, unsaid) for attempt in (1, 2, 3)] == [0.5, 1.0, None]
    assert policy.delay(request, 1, httpx.Response(500)) is None


async def test_answer_that_is_not_a_problem_document_still_raises_problem_error() -> None:
    script = Script(lambda _: httpx.Response(404, text="404 page not found"))
    with pytest.raises(ProblemError) as raised:
        await _call("async", script)
    assert raised.value.problem == Problem(title="Not Found", status=404)


async def test_members_the_client_does_not_know_are_ignored() -> None:
    script = Script(lambda _: httpx.Response(200, json={**METRIC, "target": 30, "owner": "x"}))
    assert await _call("async", script) == MetricRead.model_validate(METRIC)


async def test_key_in_a_path_cannot_leave_its_segment() -> None:
    script = Script(lambda _: httpx.Response(200, json=METRIC))
    async with AsyncClient(transport=httpx.MockTransport(script)) as client:
        await client.get_metric("../engagements")
    assert script.requests[0].url.raw_path == b"/v1/metrics/..%2Fengagements"


async def test_token_goes_in_the_authorization_header() -> None:
    script = Script(lambda _: httpx.Response(200, json=METRIC))
    await _call("async", script)
    assert script.requests[0].headers["authorization"] == "Bearer t"
