"""docker-compose.yml against the settings classes, the Caddyfile and PostgreSQL 18."""

import re
from urllib.parse import urlsplit

from pydantic import AliasChoices

from handover_kit.credentials import new_service_seed
from handover_kit.settings import Environment, ServiceSettings

from .support import depends_on, environment, is_interpolation

_URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")
# Names of variables that hold a credential, which compose only takes from the host.
_CREDENTIAL = re.compile(r"PASSWORD|SERVICE_KEY|SECRET|TOKEN", re.IGNORECASE)
# The shared settings compose sets itself rather than passing them through from the host.
_SET_BY_COMPOSE = {"HANDOVER_ENV", "DATABASE_URL"}


def _settings(compose, service, key, settings_from_env):
    return settings_from_env(service, environment(compose["services"][key]))


def _commands(compose_roles):
    """(Handover service, compose service) for every compose service running a service's command."""
    for roles in (compose_roles.serve, compose_roles.migrate):
        yield from roles.items()
    for key, name in compose_roles.workers.items():
        yield name, key


def _prefix(service):
    return str(service.settings.model_config.get("env_prefix", "")).upper()


def _shared_variables():
    """The unprefixed variables every service reads."""
    return {
        choice
        for info in ServiceSettings.model_fields.values()
        if isinstance(info.validation_alias, AliasChoices)
        for choice in info.validation_alias.choices
        if isinstance(choice, str)
    }


def test_every_service_has_a_server_and_a_migration_from_the_same_image(
    compose, compose_roles, handover_services
):
    assert set(compose_roles.serve) == set(handover_services)
    assert set(compose_roles.migrate) == set(handover_services)
    for name in handover_services:
        serve = compose["services"][compose_roles.serve[name]]
        migrate = compose["services"][compose_roles.migrate[name]]
        assert serve["image"] == migrate["image"], name
        assert serve["build"] == migrate["build"], name


def test_every_service_starts_only_after_its_migration_succeeded(
    compose, compose_roles, handover_services
):
    for name in handover_services:
        serve = compose["services"][compose_roles.serve[name]]
        assert depends_on(serve).get(compose_roles.migrate[name]) == (
            "service_completed_successfully"
        ), name


def test_every_migration_waits_for_a_healthy_postgres_18(compose, compose_roles):
    database = compose["services"][compose_roles.database]
    assert database["image"] == "postgres:18"
    assert database["healthcheck"]["test"]
    assert compose_roles.migrate
    for key in compose_roles.migrate.values():
        assert depends_on(compose["services"][key]).get(compose_roles.database) == (
            "service_healthy"
        ), key


def test_database_keeps_its_data_on_a_named_volume_where_postgres_18_looks(compose, compose_roles):
    # From 18 on the image stores data below /var/lib/postgresql/<major>/; a mount at
    # /var/lib/postgresql/data is refused.
    mounts = [
        volume.split(":")[:2] if isinstance(volume, str) else [volume["source"], volume["target"]]
        for volume in compose["services"][compose_roles.database]["volumes"]
    ]
    assert [target for source, target in mounts if source in compose["volumes"]] == [
        "/var/lib/postgresql"
    ]


def test_every_service_env_var_is_a_setting_of_that_service(
    compose, compose_roles, handover_services, settings_from_env
):
    for name, key in _commands(compose_roles):
        service = handover_services[name]
        env = environment(compose["services"][key])
        unknown = {variable for variable in env if variable.upper() not in service.env_names}
        assert not unknown, f"{key} sets what {service.settings.__module__} does not read"
        settings_from_env(service, env)


def test_talent_leaves_hris_events_to_a_processor_of_the_same_image(
    compose, compose_roles, handover_services, settings_from_env
):
    talent = handover_services["talent"]
    server = compose_roles.serve["talent"]
    assert _settings(compose, talent, server, settings_from_env).hris_processor is False
    processors = [
        key
        for key, name in compose_roles.workers.items()
        if compose["services"][key]["command"] == [talent.script, "process-hris-events"]
    ]
    assert len(processors) == 1, f"expected one service applying HRIS events: {processors}"
    processor = compose["services"][processors[0]]
    assert processor["image"] == compose["services"][server]["image"]
    assert processor["build"] == compose["services"][server]["build"]
    assert "ports" not in processor
    # It verifies no signature: the key of the sources' secrets stays with the server.
    assert "TALENT_HRIS_SECRETS_KEYS" not in environment(processor, raw=True)


def test_every_worker_starts_only_after_its_migration_succeeded(compose, compose_roles):
    assert compose_roles.workers
    for key, name in compose_roles.workers.items():
        assert depends_on(compose["services"][key]).get(compose_roles.migrate[name]) == (
            "service_completed_successfully"
        ), key


def test_servers_listen_on_all_interfaces(
    compose, compose_roles, handover_services, settings_from_env
):
    for name, key in compose_roles.serve.items():
        settings = _settings(compose, handover_services[name], key, settings_from_env)
        assert settings.host == "0.0.0.0", key  # noqa: S104 - containers are reached from outside


def test_only_migrations_carry_database_admin_credentials(
    compose, compose_roles, handover_services, settings_from_env
):
    for name, service in handover_services.items():
        served = _settings(compose, service, compose_roles.serve[name], settings_from_env)
        migrated = _settings(compose, service, compose_roles.migrate[name], settings_from_env)
        assert served.admin_url.username is None, name
        assert served.admin_url.password is None, name
        assert migrated.admin_url.username, name
        assert migrated.admin_url.password, name
        for url in (served.admin_url, migrated.admin_url):
            assert (url.host, url.port, url.database) == (compose_roles.database, 5432, "handover")


def test_healthchecks_ask_readyz_on_the_port_the_service_listens_on(
    compose, compose_roles, handover_services, settings_from_env
):
    for name, key in compose_roles.serve.items():
        settings = _settings(compose, handover_services[name], key, settings_from_env)
        check = " ".join(compose["services"][key]["healthcheck"]["test"])
        urls = [urlsplit(url) for url in re.findall(r"https?://[^\s'\"]+", check)]
        assert [(url.hostname, url.port, url.path) for url in urls] == [
            ("127.0.0.1", settings.port, "/readyz")
        ], key


def test_every_gateway_upstream_is_a_compose_service_on_its_port(
    compose,
    compose_roles,
    handover_services,
    caddy_placeholders,
    adapt_caddyfile,
    settings_from_env,
):
    env = environment(compose["services"][compose_roles.gateway])
    assert set(env) <= set(caddy_placeholders), "the gateway is given what its Caddyfile ignores"
    expected = {}
    for name, service in handover_services.items():
        key = compose_roles.serve[name]
        port = _settings(compose, service, key, settings_from_env).port
        expected[service.upstream_placeholder] = f"{key}:{port}"
    assert {placeholder: env.get(placeholder) for placeholder in expected} == expected
    assert adapt_caddyfile(env).dials() == set(expected.values())


def test_gateway_publishes_the_port_it_listens_on(compose, compose_roles, adapt_caddyfile):
    gateway = compose["services"][compose_roles.gateway]
    [port] = adapt_caddyfile(environment(gateway)).listen_ports()
    published = [str(mapping).rsplit(":", 2)[-2:] for mapping in gateway["ports"]]
    assert published == [["8000", str(port)]]


def test_gateway_starts_once_every_service_is_healthy(compose, compose_roles):
    gateway = depends_on(compose["services"][compose_roles.gateway])
    assert compose_roles.serve
    for key in compose_roles.serve.values():
        assert gateway.get(key) == "service_healthy", key
        assert compose["services"][key]["healthcheck"]["test"], key


def test_every_url_a_service_calls_is_its_callees_compose_service_on_its_port(
    compose, compose_roles, handover_services, settings_from_env
):
    """A service's own `<callee>_URL` settings; the shared, unprefixed ones (the identity
    provider's) are outside compose."""
    calls = set()
    for caller, key in compose_roles.serve.items():
        service = handover_services[caller]
        prefix = _prefix(service)
        env = environment(compose["services"][key])
        for callee in handover_services:
            if f"{callee}_url" in service.settings.model_fields:
                variable = f"{prefix}{callee}_URL".upper()
                assert env.get(variable), f"{key} leaves {variable} at its default"
        for variable, value in env.items():
            if not (variable.startswith(prefix) and variable.endswith("_URL")):
                continue
            callee = variable.removeprefix(prefix).removesuffix("_URL").lower()
            assert callee in handover_services, f"{key}: {variable} names no service"
            url = urlsplit(value)
            assert url.hostname == compose_roles.serve[callee], f"{key}: {variable}"
            settings = _settings(
                compose, handover_services[callee], url.hostname, settings_from_env
            )
            assert url.port == settings.port, f"{key}: {variable}"
            calls.add((caller, callee))
    assert {("talent", "engagements"), ("kpi", "engagements")} <= calls


def test_compose_holds_no_secret_only_references_to_one(compose):
    checked = 0
    for key, spec in compose["services"].items():
        for variable, value in environment(spec, raw=True).items():
            if value is None:
                continue
            if _CREDENTIAL.search(variable):
                assert is_interpolation(value), f"{key}: {variable}"
                checked += 1
            for password in _URL_PASSWORD.findall(value):
                assert is_interpolation(password), f"{key}: {variable}"
                checked += 1
    assert checked


def test_every_service_passes_its_signing_key_through_from_the_host(
    compose, compose_roles, handover_services
):
    """As is, so that unset stays unset (development derives a key) rather than empty (refused)."""
    for name, key in _commands(compose_roles):
        env = environment(compose["services"][key], raw=True)
        variable = f"{_prefix(handover_services[name])}SERVICE_KEY"
        assert variable in env, f"{key} does not pass {variable} through"
        assert env[variable] is None, f"{key}: {variable} must be passed through as is"


def test_servers_pass_every_shared_setting_through_from_the_host(compose, compose_roles):
    """As is, so that unset stays unset: an empty JSON value is refused."""
    shared = _shared_variables() - _SET_BY_COMPOSE
    assert {
        "HANDOVER_SERVICE_PUBLIC_KEYS",
        "HANDOVER_OIDC_ISSUER",
        "HANDOVER_CORS_ORIGINS",
    } <= shared
    for key in compose_roles.serve.values():
        env = environment(compose["services"][key], raw=True)
        missing = shared - env.keys()
        assert not missing, f"{key} does not pass {sorted(missing)} through"
        assert {variable: env[variable] for variable in shared} == dict.fromkeys(shared), key


def test_compose_runs_in_development_unless_the_host_sets_production_and_its_secrets(
    compose, compose_roles, handover_services, settings_from_env
):
    for name, key in _commands(compose_roles):
        service = handover_services[name]
        raw = environment(compose["services"][key], raw=True)
        assert raw["HANDOVER_ENV"] == "${HANDOVER_ENV:-development}", key
        development = _settings(compose, service, key, settings_from_env)
        assert development.environment is Environment.DEVELOPMENT, key

        seed = new_service_seed()
        secrets = {
            f"{_prefix(service)}DB_PASSWORD": "from-host-password",
            f"{_prefix(service)}SERVICE_KEY": seed,
        }
        env = environment(compose["services"][key])
        passed = {variable for variable, value in env.items() if value is None}
        env["HANDOVER_ENV"] = "production"
        env.update({v: value for v, value in secrets.items() if v in passed})
        production = settings_from_env(service, env)
        assert production.environment is Environment.PRODUCTION, key
        assert production.service_key is not None, key
        assert production.service_key.get_secret_value() == seed, key
