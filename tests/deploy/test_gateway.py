"""The Caddyfile: its placeholders and routes, as Caddy itself reads them."""

import base64
import hashlib
import re
from collections import defaultdict
from fnmatch import fnmatch

from handover_kit.cli import KEEP_ALIVE_SECONDS

from .support import REPO


def test_every_caddyfile_placeholder_has_one_default(caddy_placeholders):
    for name, defaults in caddy_placeholders.items():
        assert len(defaults) == 1, f"{{${name}}} has different defaults: {sorted(defaults)}"


def test_every_service_has_an_upstream_placeholder_defaulting_to_its_settings_port(
    caddy_placeholders, handover_services
):
    upstreams = {name for name in caddy_placeholders if name.endswith("_UPSTREAM")}
    assert upstreams == {service.upstream_placeholder for service in handover_services.values()}
    for service in handover_services.values():
        assert caddy_placeholders[service.upstream_placeholder] == {
            f"127.0.0.1:{service.default_port}"
        }


def test_each_services_api_and_probes_are_routed_to_that_service(
    adapt_caddyfile, handover_services
):
    addresses = {
        name: f"{name}.invalid:{service.default_port}"
        for name, service in handover_services.items()
    }
    config = adapt_caddyfile(
        {
            service.upstream_placeholder: addresses[name]
            for name, service in handover_services.items()
        }
    )
    paths_by_dial = defaultdict(set)
    for paths, dial in config.proxied():
        paths_by_dial[dial].update(paths)
    assert set(paths_by_dial) == set(addresses.values())
    for name, address in addresses.items():
        assert {f"/{name}/healthz", f"/{name}/readyz"} <= paths_by_dial[address]
        assert any(path.startswith("/v1/") for path in paths_by_dial[address]), name


def test_probe_routes_reach_the_services_own_probe_paths(adapt_caddyfile, handover_services):
    """The services answer /healthz and /readyz, so the gateway must drop its /<service> prefix."""
    rewrites = [
        (paths, handler["strip_path_prefix"])
        for paths, handler in adapt_caddyfile({}).handlers()
        if handler["handler"] == "rewrite" and "strip_path_prefix" in handler
    ]
    for name in handover_services:
        for probe in ("healthz", "readyz"):
            prefixes = [prefix for paths, prefix in rewrites if f"/{name}/{probe}" in paths]
            assert prefixes == [f"/{name}"], f"/{name}/{probe}"


# --- hardening ----------------------------------------------------------------------------

SECURITY_HEADERS = {
    "Strict-Transport-Security": ["max-age=63072000; includeSubDomains"],
    "X-Content-Type-Options": ["nosniff"],
    "X-Frame-Options": ["DENY"],
    "Referrer-Policy": ["no-referrer"],
    "Cross-Origin-Resource-Policy": ["same-origin"],
    "Permissions-Policy": ["camera=(), microphone=(), geolocation=()"],
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_PAGE = REPO / "deploy" / "gateway" / "site" / "docs.html"


def _routes(config):
    [server] = config.config["apps"]["http"]["servers"].values()
    return server["routes"], server["errors"]["routes"]


def _nested(handlers):
    """Every handler, however deep in subroutes."""
    for handler in handlers:
        yield handler
        for route in handler.get("routes", []):
            yield from _nested(route["handle"])


def _route_handlers(route):
    return list(_nested(route["handle"]))


def _security_header_ops(handlers):
    """The response header operations that set the security headers, removals and CSP default."""
    ops = [h["response"] for h in handlers if h["handler"] == "headers" and "response" in h]
    setting = [op for op in ops if SECURITY_HEADERS.items() <= op.get("set", {}).items()]
    csp_default = [
        op
        for op in ops
        if op.get("require", {}).get("headers") == {"Content-Security-Policy": None}
        and op["set"] == {"Content-Security-Policy": [API_CSP]}
    ]
    return setting, csp_default


def _first_index(routes, predicate):
    return next(i for i, route in enumerate(routes) if any(map(predicate, _route_handlers(route))))


def _is_proxy(handler):
    return handler["handler"] == "reverse_proxy"


def test_the_gateway_closes_idle_service_connections_before_the_services_do(adapt_caddyfile):
    proxies = [handler for _, handler in adapt_caddyfile({}).handlers() if _is_proxy(handler)]
    assert proxies
    for proxy in proxies:
        idle_seconds = proxy["transport"]["keep_alive"]["idle_timeout"] / 1e9
        assert 0 < idle_seconds < KEEP_ALIVE_SECONDS, proxy["upstreams"]


def test_every_answer_gets_the_security_headers_and_no_server_banner(adapt_caddyfile):
    routes, error_routes = _routes(adapt_caddyfile({}))
    site_wide = [h for route in routes if "match" not in route for h in _route_handlers(route)]
    scopes = {"site": site_wide}
    for route in error_routes:
        scopes[f"errors {route.get('match', 'any')}"] = _route_handlers(route)
    assert len(scopes) >= 3
    for scope, handlers in scopes.items():
        setting, csp_default = _security_header_ops(handlers)
        assert len(setting) == 1, scope
        # Deferred: applied as the answer is written, over whatever an upstream sent.
        assert setting[0]["deferred"] is True, scope
        assert {"Server", "Via"} <= set(setting[0]["delete"]), scope
        assert len(csp_default) == 1, scope


def test_docs_csp_admits_exactly_the_docs_pages_inline_script(adapt_caddyfile):
    inline = re.findall(r"<script>(.*?)</script>", DOCS_PAGE.read_text(), flags=re.DOTALL)
    hashes = {
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline
    }
    [docs_csp] = [
        handler["response"]["set"]["Content-Security-Policy"][0]
        for paths, handler in adapt_caddyfile({}).handlers()
        if "/docs" in paths
        and handler["handler"] == "headers"
        and "Content-Security-Policy" in handler.get("response", {}).get("set", {})
    ]
    directives = {name: set(values) for name, *values in (d.split() for d in docs_csp.split(";"))}
    assert directives["default-src"] == {"'none'"}
    assert directives["script-src"] == {"'self'", *hashes}
    assert directives["style-src"] == {"'self'"}
    assert directives["frame-ancestors"] == {"'none'"}
    assert "unsafe" not in docs_csp


def test_api_bodies_are_limited_by_the_placeholder_before_any_proxying(adapt_caddyfile):
    for env, limit in (({}, 1_000_000), ({"GATEWAY_MAX_BODY": "2048"}, 2048)):
        routes, _ = _routes(adapt_caddyfile(env))
        # The bulk uploads have a cap of their own; every other API path has this one.
        [api_limit] = [
            handler["max_size"]
            for route in routes
            for handler in _route_handlers(route)
            if handler["handler"] == "request_body" and route["match"][0]["path"] == ["/v1/*"]
        ]
        assert api_limit == limit
        # A declared Content-Length over the limit is refused up front: a service answering
        # before it has read the body would otherwise win the race against request_body.
        refuse = _first_index(routes, lambda h: h["handler"] == "error" and h["status_code"] == 413)
        [matcher] = routes[refuse]["match"]
        assert matcher["path"] == ["/v1/*"]
        assert matcher["expression"]["expr"].endswith(f"> {limit}")
        assert refuse < _first_index(routes, _is_proxy)


def test_internal_paths_are_answered_404_by_the_gateway_before_any_route_proxies(
    adapt_caddyfile,
):
    config = adapt_caddyfile({})
    routes, _ = _routes(config)
    blocked = _first_index(routes, lambda h: h.get("status_code") == 404)
    assert routes[blocked]["match"] == [{"path": ["/internal", "/internal/*"]}]
    assert blocked < _first_index(routes, _is_proxy)
    for paths, _ in config.proxied():
        assert not any(fnmatch(probe, p) for p in paths for probe in ("/internal/x", "/metrics"))


def test_gateway_problems_take_the_path_only_json_quoted(adapt_caddyfile):
    routes, error_routes = _routes(adapt_caddyfile({}))
    bodies = [
        handler["body"]
        for route in (*routes, *error_routes)
        for handler in _route_handlers(route)
        if handler["handler"] == "static_response" and handler.get("body", "").startswith("{")
    ]
    assert len(bodies) >= 4
    for body in bodies:
        # A request placeholder would land unescaped in the JSON (and in the template source).
        assert "{http.request." not in body, body
        assert '"instance":{{ .OriginalReq.URL.EscapedPath | toJson }}' in body, body


def test_api_keys_are_routed_to_the_engagements_service(adapt_caddyfile, handover_services):
    engagements = handover_services["engagements"]
    address = f"engagements.invalid:{engagements.default_port}"
    config = adapt_caddyfile({engagements.upstream_placeholder: address})
    routed = {path for paths, dial in config.proxied() if dial == address for path in paths}
    assert {"/v1/api-keys", "/v1/api-keys/*"} <= routed
