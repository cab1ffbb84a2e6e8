"""What the real Caddy gateway adds, strips and refuses, whatever the services behind it do."""

import base64
import hashlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from handover_tools.postgres import Server
from handover_tools.stack import Ports, Stack
from tests.conftest import free_port_block

pytestmark = pytest.mark.live

SECURITY_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The gateway's limit, in bytes, when GATEWAY_MAX_BODY is unset.
MAX_BODY = 1_000_000
TWO_MB = 2 * 1024 * 1024


@pytest.fixture
def gateway(live: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.gateway_url, timeout=10.0) as client:
        yield client


def assert_hardened(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name)
    assert "server" not in response.headers, response.url
    assert "via" not in response.headers, response.url
    assert response.headers.get("content-security-policy"), response.url


def assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    problem = response.json()
    assert problem["type"] == "about:blank"
    assert problem["status"] == status
    assert unquote(problem["instance"]) == response.url.path


# --- in front of the real services ----------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/healthz", "/v2/nowhere", "/openapi.json", "/v1/metrics", "/kpi/readyz"]
)
def test_api_answers_carry_the_security_headers_and_the_strict_csp(
    gateway: httpx.Client, path: str
) -> None:
    response = gateway.get(path)
    assert_hardened(response)
    assert response.headers["content-security-policy"] == API_CSP


def test_docs_page_gets_a_csp_that_admits_its_own_script_and_assets(
    gateway: httpx.Client,
) -> None:
    page = gateway.get("/docs")
    assert page.status_code == 200
    assert_hardened(page)
    csp = page.headers["content-security-policy"]
    directives = {name: values for name, *values in (d.split() for d in csp.split(";"))}
    inline = re.findall(r"<script>(.*?)</script>", page.text, flags=re.DOTALL)
    assert inline, "docs.html has no inline script: drop its hash from the Caddyfile"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in directives["script-src"]
    assert "'self'" in directives["script-src"]
    assert "'self'" in directives["style-src"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe" not in csp
    asset = gateway.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert_hardened(asset)


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize("path", ["/internal", "/internal/v1/anything", "/INTERNAL/v1/anything"])
def test_internal_paths_are_a_404_problem_from_the_gateway(
    gateway: httpx.Client, method: str, path: str
) -> None:
    response = gateway.request(method, path, json={"any": "thing"})
    assert_problem(response, 404)
    assert response.json()["detail"] == "No route matches this path."
    assert_hardened(response)


def test_metrics_are_not_exposed(gateway: httpx.Client) -> None:
    assert_problem(gateway.get("/metrics"), 404)


def test_problem_instance_is_valid_json_whatever_the_path(gateway: httpx.Client) -> None:
    response = gateway.get('/v2/a"b\\c{{x}}')
    assert_problem(response, 404)
    assert response.json()["instance"] == "/v2/a%22b%5Cc%7B%7Bx%7D%7D"


def test_oversize_body_is_a_413_problem_from_the_gateway(gateway: httpx.Client) -> None:
    body = b'{"name":"' + b"x" * TWO_MB + b'","kind":"client"}'
    response = gateway.post(
        "/v1/organizations",
        content=body,
        headers={"Content-Type": "application/json", "X-Request-ID": "trace-413"},
    )
    assert_problem(response, 413)
    assert response.json()["title"] == "Content Too Large"
    assert response.headers["x-request-id"] == "trace-413"
    assert_hardened(response)


# --- in front of a stub that stands in for every service ----------------------------------


@dataclass
class Upstream:
    """What reached the stub: one (method, path, headers, body length) per request."""

    requests: list[tuple[str, str, dict[str, str], int]] = field(default_factory=list)


def _stub_handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Stub(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            received = self._drain()
            headers = {name.lower(): value for name, value in self.headers.items()}
            upstream.requests.append((self.command, self.path, headers, received))
            self.send_response(200)
            self.send_header("Server", "stub/1.0")
            self.send_header("X-Frame-Options", "SAMEORIGIN")
            if self.path.endswith("/cacheable"):
                self.send_header("Cache-Control", "max-age=60")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _drain(self) -> int:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                received = 0
                while size := int(self.rfile.readline().split(b";")[0] or b"0", 16):
                    received += len(self.rfile.read(size))
                    self.rfile.readline()
                return received
            return len(self.rfile.read(int(self.headers.get("Content-Length", 0))))

        do_GET = do_POST = do_OPTIONS = _answer  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Stub


@pytest.fixture
def stubbed(pg_server: Server, tmp_path: Path) -> Iterator[tuple[httpx.Client, Upstream]]:
    """The gateway with a recording stub on every service's port."""
    stack = Stack(pg_server, tmp_path, Ports.from_gateway(free_port_block(4)))
    upstream = Upstream()
    servers = [
        ThreadingHTTPServer(("127.0.0.1", port), _stub_handler(upstream))
        for port in stack.ports.services.values()
    ]
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    try:
        for thread in threads:
            thread.start()
        stack.start_gateway()
        with httpx.Client(base_url=stack.gateway_url, timeout=10.0) as client:
            yield client, upstream
    finally:
        stack.stop()
        for server in servers:
            server.shutdown()
            server.server_close()


def test_a_declared_oversize_body_never_reaches_the_service(
    stubbed: tuple[httpx.Client, Upstream],
) -> None:
    client, upstream = stubbed
    response = client.post("/v1/organizations", content=b"x" * (MAX_BODY + 1))
    assert_problem(response, 413)
    assert upstream.requests == []


def test_a_body_at_the_limit_is_passed_on(stubbed: tuple[httpx.Client, Upstream]) -> None:
    client, upstream = stubbed
    assert client.post("/v1/requisitions", content=b"x" * MAX_BODY).status_code == 200
    [(_, _, _, received)] = upstream.requests
    assert received == MAX_BODY


def test_a_streamed_oversize_body_is_cut_off_at_the_limit(
    stubbed: tuple[httpx.Client, Upstream],
) -> None:
    client, _ = stubbed
    chunks = iter([b"x" * 65_536] * (TWO_MB // 65_536))
    response = client.post("/v1/metrics", content=chunks)
    assert_problem(response, 413)


@pytest.mark.parametrize("path", ["/v1/data-points/ndjson", "/v1/data-points/csv"])
def test_bulk_uploads_pass_bodies_over_the_limit_on_to_the_service(
    stubbed: tuple[httpx.Client, Upstream], path: str
) -> None:
    client, upstream = stubbed
    declared = client.post(path, content=b"x" * TWO_MB)
    streamed = client.post(path, content=iter([b"x" * 65_536] * (TWO_MB // 65_536)))
    assert (declared.status_code, streamed.status_code) == (200, 200)
    assert [received for *_, received in upstream.requests] == [TWO_MB, TWO_MB]
    # The JSON batch of the same resource keeps the limit of every other path.
    assert_problem(client.post("/v1/data-points", content=b"x" * TWO_MB), 413)


def test_upstream_headers_are_overridden_and_its_cache_control_kept(
    stubbed: tuple[httpx.Client, Upstream],
) -> None:
    client, _ = stubbed
    plain = client.get("/v1/metrics")
    assert_hardened(plain)
    assert plain.headers["x-frame-options"] == "DENY"
    assert plain.headers["content-security-policy"] == API_CSP
    assert plain.headers["cache-control"] == "no-store"
    assert client.get("/v1/metrics/cacheable").headers["cache-control"] == "max-age=60"


def test_cors_preflight_is_passed_to_the_service(stubbed: tuple[httpx.Client, Upstream]) -> None:
    client, upstream = stubbed
    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    assert client.options("/v1/api-keys", headers=preflight).status_code == 200
    [(method, path, headers, _)] = upstream.requests
    assert (method, path) == ("OPTIONS", "/v1/api-keys")
    assert headers["origin"] == "https://app.example"


def test_the_gateway_adds_no_identity_and_replaces_spoofed_forwarding_headers(
    stubbed: tuple[httpx.Client, Upstream],
) -> None:
    client, upstream = stubbed
    sent = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    client.get("/v1/engagements", headers=sent)
    [(_, _, headers, _)] = upstream.requests
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    added = set(headers) - {name.lower() for name in client.headers} - {"host"}
    assert added <= {
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-request-id",
        "via",
    }
