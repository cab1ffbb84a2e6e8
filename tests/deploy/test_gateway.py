"""The Caddyfile: its placeholders and routes, as Caddy itself reads them."""

from collections import defaultdict


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
