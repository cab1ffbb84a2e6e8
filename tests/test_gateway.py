"""Through the real Caddy gateway to the real service processes."""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from handover_tools.postgres import Server
from handover_tools.services import SERVICES
from handover_tools.stack import Ports, Stack
from tests.conftest import free_port_block

pytestmark = pytest.mark.live


@pytest.fixture
def gateway(live: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live.gateway_url,
        timeout=10.0,
        headers={"Authorization": f"Bearer {live.admin_key}"},
    ) as client:
        yield client


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_gateway_reaches_each_services_readiness(gateway: httpx.Client, service: str) -> None:
    response = gateway.get(f"/{service}/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_gateway_routes_resources_to_their_services(gateway: httpx.Client) -> None:
    suffix = uuid.uuid4().hex[:8]
    client = gateway.post("/v1/organizations", json={"name": f"C {suffix}", "kind": "client"})
    partner = gateway.post("/v1/organizations", json={"name": f"P {suffix}", "kind": "partner"})
    engagement = gateway.post(
        "/v1/engagements",
        json={
            "name": "Gateway engagement",
            "client_id": client.json()["id"],
            "partner_id": partner.json()["id"],
            "delivery_model": "hybrid",
        },
    )
    assert engagement.status_code == 201, engagement.text
    requisition = gateway.post(
        "/v1/requisitions",
        json={"engagement_id": engagement.json()["id"], "title": "Data engineer", "headcount": 2},
    )
    assert requisition.status_code == 201, requisition.text
    assert gateway.get("/v1/metrics/time_to_hire").json()["key"] == "time_to_hire"


def test_request_id_crosses_the_gateway_and_a_service_to_service_call(
    gateway: httpx.Client, live: Stack
) -> None:
    request_id = f"gw-{uuid.uuid4().hex}"
    missing = str(uuid.uuid4())
    response = gateway.post(
        "/v1/requisitions",
        json={"engagement_id": missing, "title": "Analyst", "headcount": 1},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 422
    assert response.headers["x-request-id"] == request_id
    assert _logged(live, "gateway", request_id, lambda line: line["msg"] == "handled request")
    assert _logged(live, "talent", request_id, lambda line: line["path"] == "/v1/requisitions")
    assert _logged(
        live,
        "engagements",
        request_id,
        lambda line: line["path"] == f"/internal/v1/engagements/{missing}",
    )


def _logged(
    live: Stack, process: str, request_id: str, matches: Callable[[dict[str, Any]], bool]
) -> bool:
    """Whether `process` logged a line for this request that `matches`. Access lines are
    written once the response is sent, so they may land a moment after the caller has it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for raw in live.log_path(process).read_text().splitlines():
            line = json.loads(raw)
            if line.get("request_id") == request_id and matches(line):
                return True
        time.sleep(0.05)
    return False


def test_gateway_mints_a_request_id_when_the_caller_sends_none(gateway: httpx.Client) -> None:
    response = gateway.get("/v1/metrics")
    assert len(response.headers["x-request-id"]) >= 32


def test_unrouted_path_is_a_404_problem_from_the_gateway(gateway: httpx.Client) -> None:
    response = gateway.get("/v2/nowhere", headers={"X-Request-ID": "trace-404"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["instance"] == "/v2/nowhere"
    assert response.headers["x-request-id"] == "trace-404"


def test_a_request_id_unsafe_to_log_is_replaced_at_the_gateway(
    gateway: httpx.Client, live: Stack
) -> None:
    unsafe = 'x" forged=1'
    for path in ("/v1/metrics", "/v2/nowhere"):  # a service's answer, and the gateway's own
        response = gateway.get(path, headers={"X-Request-ID": unsafe})
        minted = response.headers["x-request-id"]
        assert minted != unsafe
        assert uuid.UUID(minted)
        assert _logged(live, "gateway", minted, lambda line: line["msg"] == "handled request")


def test_internal_endpoints_are_not_exposed(gateway: httpx.Client) -> None:
    for path in ("/engagements/docs", "/engagements/openapi.json", "/kpi/metrics"):
        assert gateway.get(path).status_code == 404, path


def test_merged_openapi_lists_every_services_paths(gateway: httpx.Client, live: Stack) -> None:
    merged = gateway.get("/openapi.json").json()
    for service in SERVICES:
        own = httpx.get(f"{live.service_url(service.name)}/openapi.json").json()
        assert own["paths"], service.name
        assert set(own["paths"]) <= set(merged["paths"]), service.name


def test_every_documented_path_is_routed_by_the_gateway(gateway: httpx.Client) -> None:
    merged = gateway.get("/openapi.json").json()
    for path in merged["paths"]:
        concrete = path.replace("{", "").replace("}", "")
        response = gateway.get(concrete)
        # Caddy's own fallback says "No route"; anything else came from a service.
        assert "No route matches" not in response.text, path


def test_docs_page_and_its_assets_are_served(gateway: httpx.Client) -> None:
    page = gateway.get("/docs")
    assert page.status_code == 200
    assert "swagger-ui-bundle.js" in page.text
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert gateway.get(asset).status_code == 200, asset


def test_gateway_answers_its_own_liveness(gateway: httpx.Client) -> None:
    assert gateway.get("/healthz").text == "ok"


@pytest.fixture
def gateway_alone(pg_server: Server, tmp_path: Path) -> Iterator[httpx.Client]:
    """The gateway with no service behind it."""
    stack = Stack(pg_server, tmp_path, Ports.from_gateway(free_port_block(4)))
    try:
        stack.start_gateway()
        with httpx.Client(base_url=stack.gateway_url, timeout=10.0) as client:
            yield client
    finally:
        stack.stop()


@pytest.mark.parametrize("path", ["/v1/metrics", "/talent/readyz"])
def test_unreachable_service_is_a_prompt_503_problem(
    gateway_alone: httpx.Client, path: str
) -> None:
    started = time.monotonic()
    response = gateway_alone.get(path, headers={"X-Request-ID": "trace-503"})
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["instance"] == path
    assert response.headers["x-request-id"] == "trace-503"


def test_gateway_serves_the_contract_without_the_services(gateway_alone: httpx.Client) -> None:
    assert gateway_alone.get("/openapi.json").json()["info"]["title"] == "Handover API"


def test_passing_through_the_gateway_earns_no_trust(live: Stack) -> None:
    with httpx.Client(base_url=live.gateway_url, timeout=10.0) as anonymous:
        for path in ("/v1/organizations", "/v1/requisitions", "/v1/metrics"):
            response = anonymous.get(path, headers={"X-Forwarded-For": "127.0.0.1"})
            assert response.status_code == 401, path
            assert response.headers["content-type"] == "application/problem+json"
