"""deploy/kubernetes against the Kubernetes schema, the settings classes and the Caddyfile."""

import re
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
from kubernetes_validate.utils import latest_version

from handover_kit.credentials import (
    development_seed,
    new_service_seed,
    private_key_from_seed,
    public_key_text,
)
from handover_kit.outbox import LISTENER_CONNECTIONS
from handover_kit.settings import Environment

from .support import (
    KUBERNETES,
    REPO,
    SECRET_SAMPLES,
    image_repository,
    load_yaml_documents,
)

# PostgreSQL's default max_connections, less its default superuser_reserved_connections.
POSTGRES_CONNECTIONS_FOR_SERVICES = 100 - 3
ADMIN_SECRET = "handover-db-admin"
SERVICE_KEY = "SERVICE_KEY"
HRIS_PROCESSOR = ["handover-talent", "process-hris-events"]
# Names of variables that hold a credential, which only a Secret may provide.
_CREDENTIAL = re.compile(r"PASSWORD|SERVICE_KEY|SECRET|TOKEN", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")


@pytest.fixture(autouse=True)
def _service_key_secrets_hold_a_seed(cluster, monkeypatch):
    """A Secret reads as a sample of what it holds; a service's signing key is checked as one,
    so its sample must be a real seed."""
    seed = new_service_seed()
    for _, container in cluster.containers():
        for variable, ref in cluster.secret_refs(container).items():
            if variable.upper().endswith(SERVICE_KEY):
                monkeypatch.setitem(SECRET_SAMPLES, (ref["name"], ref["key"]), seed)


def _name(document):
    return f"{document['kind']}/{document['metadata']['name']}"


def _servers(cluster, handover_services):
    """Each service's Deployment and its serving container."""
    servers = {}
    for name, service in handover_services.items():
        running = [
            (workload, container)
            for workload, container in cluster.running([service.script, "serve"])
            if workload["kind"] == "Deployment"
        ]
        assert len(running) == 1, f"expected one Deployment serving {name}"
        servers[name] = running[0]
    return servers


def _hris_processor(cluster):
    """The Deployment that applies HRIS events, and its container."""
    running = cluster.running(HRIS_PROCESSOR)
    assert len(running) == 1, "expected one container applying HRIS events"
    workload, container = running[0]
    assert workload["kind"] == "Deployment", _name(workload)
    return workload, container


def _pods_at_most(cluster, deployment):
    """Its HorizontalPodAutoscaler's maximum, or its replicas if none scales it."""
    for hpa in cluster.of_kind("HorizontalPodAutoscaler"):
        if hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]:
            return hpa["spec"]["maxReplicas"]
    return deployment["spec"]["replicas"]


def _prefix(service):
    return str(service.settings.model_config.get("env_prefix", "")).upper()


def _container_port(container, port):
    """A Service's targetPort, resolved to the container's port number."""
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    return ports[port] if isinstance(port, str) else port


def test_manifests_are_valid_for_the_latest_kubernetes_schema(cluster):
    version = latest_version()
    for document in cluster.documents:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{_name(document)}: {error}")


def test_kustomization_lists_every_manifest_and_sets_every_images_tag(kustomization, cluster):
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml"
    )
    tagged = {image["name"] for image in kustomization["images"]}
    used = {image_repository(container["image"]) for _, container in cluster.containers()}
    assert used
    assert used <= tagged


def test_everything_lands_in_one_namespace_that_enforces_restricted_pods(kustomization, cluster):
    [namespace] = cluster.of_kind("Namespace")
    assert kustomization["namespace"] == namespace["metadata"]["name"]
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_no_secret_is_committed_and_every_reference_names_a_secret_and_a_key(
    kustomization, cluster
):
    manifests = [*REPO.glob("deploy/**/*.y*ml"), *REPO.glob("*.y*ml")]
    assert manifests
    for path in manifests:
        for document in load_yaml_documents(path):
            kind = document.get("kind") if isinstance(document, dict) else None
            assert kind != "Secret", f"{path.relative_to(REPO)} holds a Secret"
    assert "secretGenerator" not in kustomization
    references = [
        ref
        for _, container in cluster.containers()
        for ref in cluster.secret_refs(container).values()
    ]
    assert references
    for ref in references:
        assert ref["name"], ref
        assert ref["key"], ref
        assert not ref.get("optional", False), ref


def test_every_container_env_var_is_a_setting_of_its_service(
    cluster, handover_services, settings_from_env
):
    checked = 0
    for name, service in handover_services.items():
        for workload, container in cluster.running([service.script]):
            env = cluster.env(container)
            unknown = {variable for variable in env if variable.upper() not in service.env_names}
            assert not unknown, f"{_name(workload)} sets what {name}'s settings do not read"
            settings_from_env(service, env)
            checked += 1
    assert checked >= 3 * len(handover_services), "a Job, an init container and a server each"


def test_every_deployment_waits_for_the_migrations_its_job_runs(cluster, handover_services):
    checked = 0
    for name, service in handover_services.items():
        [(job, migrate)] = cluster.running([service.script, "migrate"])
        assert job["kind"] == "Job", name
        for deployment, container in cluster.running([service.script]):
            if deployment["kind"] != "Deployment" or container["command"][1] == "await-migrations":
                continue
            init = deployment["spec"]["template"]["spec"].get("initContainers", [])
            waiting = [c for c in init if c["command"][:2] == [service.script, "await-migrations"]]
            assert len(waiting) == 1, f"{_name(deployment)} does not await its migrations"
            assert waiting[0]["image"] == container["image"] == migrate["image"], name
            checked += 1
    assert checked > len(handover_services), "the servers and talent's HRIS processor"


def test_only_migration_jobs_carry_database_admin_credentials(
    cluster, handover_services, settings_from_env
):
    for service in handover_services.values():
        for workload, container in cluster.running([service.script]):
            url = settings_from_env(service, cluster.env(container)).admin_url
            admin = cluster.secret_refs(container).get("DATABASE_URL", {}).get("name")
            if container["command"][1] == "migrate":
                assert admin == ADMIN_SECRET, _name(workload)
            else:
                assert admin is None, _name(workload)
                assert (url.username, url.password) == (None, None), _name(workload)


def test_servers_listen_on_all_interfaces_on_their_container_port(
    cluster, handover_services, settings_from_env
):
    for name, (deployment, server) in _servers(cluster, handover_services).items():
        settings = settings_from_env(handover_services[name], cluster.env(server))
        assert settings.host == "0.0.0.0", _name(deployment)  # noqa: S104 - reached from other pods
        assert _container_port(server, "http") == settings.port, _name(deployment)


def test_probes_ask_healthz_and_readyz_on_the_port_the_service_listens_on(
    cluster, handover_services, settings_from_env
):
    for name, (deployment, server) in _servers(cluster, handover_services).items():
        port = settings_from_env(handover_services[name], cluster.env(server)).port
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = server[probe]["httpGet"]
            assert get["path"] == path, f"{_name(deployment)} {probe}"
            assert _container_port(server, get["port"]) == port, f"{_name(deployment)} {probe}"


def test_every_container_runs_unprivileged_on_a_read_only_root_filesystem(cluster):
    checked = 0
    for workload, pod in cluster.pod_templates():
        assert pod["securityContext"]["runAsNonRoot"] is True, _name(workload)
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod.get("automountServiceAccountToken") is False, _name(workload)
        for container in pod.get("initContainers", []) + pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, _name(workload)
            assert context["allowPrivilegeEscalation"] is False, _name(workload)
            assert context["capabilities"]["drop"] == ["ALL"], _name(workload)
            assert "add" not in context["capabilities"], _name(workload)
            checked += 1
    assert checked


def test_every_container_requests_cpu_and_memory_and_is_limited_in_memory(cluster):
    checked = 0
    for workload, container in cluster.containers():
        resources = container["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys(), _name(workload)
        assert "memory" in resources["limits"], _name(workload)
        checked += 1
    assert checked


def test_every_hpa_scales_a_serving_deployment_on_cpu_from_its_replicas(cluster):
    autoscalers = cluster.of_kind("HorizontalPodAutoscaler")
    serving = {
        deployment["metadata"]["name"]
        for service in cluster.of_kind("Service")
        for deployment in cluster.selected_by(service["spec"]["selector"])
    }
    assert {hpa["spec"]["scaleTargetRef"]["name"] for hpa in autoscalers} == serving
    for hpa in autoscalers:
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment"), _name(hpa)
        deployment = cluster.get("Deployment", target["name"])
        assert deployment["spec"]["replicas"] == 2, _name(deployment)
        assert hpa["spec"]["minReplicas"] <= 2 <= hpa["spec"]["maxReplicas"], _name(hpa)
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"], _name(hpa)
        # CPU utilisation is measured against the request, so every container needs one.
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert "cpu" in container["resources"]["requests"], _name(deployment)


def test_every_service_and_disruption_budget_selects_exactly_one_deployment(cluster):
    selectors = [
        (document, document["spec"]["selector"]) for document in cluster.of_kind("Service")
    ] + [
        (document, document["spec"]["selector"]["matchLabels"])
        for document in cluster.of_kind("PodDisruptionBudget")
    ]
    assert selectors
    for document, selector in selectors:
        selected = cluster.selected_by(selector)
        assert [w["kind"] for w in selected] == ["Deployment"], _name(document)
        if document["kind"] == "Service":
            [container] = selected[0]["spec"]["template"]["spec"]["containers"]
            for port in document["spec"]["ports"]:
                assert _container_port(container, port["targetPort"]), _name(document)


def _service_for(cluster, host, port):
    """The Deployment a cluster-internal host:port reaches, through its Service."""
    service = cluster.get("Service", host)
    [mapping] = [p for p in service["spec"]["ports"] if p["port"] == port]
    [deployment] = cluster.selected_by(service["spec"]["selector"])
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return deployment, _container_port(container, mapping["targetPort"])


def test_every_gateway_upstream_is_a_kubernetes_service_on_its_port(
    cluster,
    gateway_image,
    handover_services,
    caddy_placeholders,
    adapt_caddyfile,
    settings_from_env,
):
    [(_, gateway)] = cluster.using(gateway_image)
    env = cluster.env(gateway)
    assert set(env) <= set(caddy_placeholders), "the gateway is given what its Caddyfile ignores"
    servers = _servers(cluster, handover_services)
    for name, service in handover_services.items():
        host, _, port = env[service.upstream_placeholder].rpartition(":")
        deployment, container_port = _service_for(cluster, host, int(port))
        expected_deployment, server = servers[name]
        assert deployment is expected_deployment, service.upstream_placeholder
        listens = settings_from_env(service, cluster.env(server)).port
        assert container_port == listens, service.upstream_placeholder
    assert adapt_caddyfile(env).dials() == {
        env[service.upstream_placeholder] for service in handover_services.values()
    }


def test_gateway_service_reaches_the_port_the_gateway_listens_on(
    cluster, gateway_image, adapt_caddyfile
):
    [(deployment, gateway)] = cluster.using(gateway_image)
    [port] = adapt_caddyfile(cluster.env(gateway)).listen_ports()
    [service] = [
        s
        for s in cluster.of_kind("Service")
        if cluster.selected_by(s["spec"]["selector"]) == [deployment]
    ]
    assert [_container_port(gateway, p["targetPort"]) for p in service["spec"]["ports"]] == [port]
    assert gateway["readinessProbe"]["httpGet"]["port"] in ("http", port)


def test_every_url_a_service_calls_is_its_callees_kubernetes_service_on_its_port(
    cluster, handover_services, settings_from_env
):
    """A service's own `<callee>_URL` settings; the shared, unprefixed ones (the identity
    provider's) are outside the cluster."""
    servers = _servers(cluster, handover_services)
    by_deployment = {id(deployment): name for name, (deployment, _) in servers.items()}
    calls = set()
    for caller, (deployment, server) in servers.items():
        service = handover_services[caller]
        prefix = _prefix(service)
        env = cluster.env(server)
        for callee in handover_services:
            variable = f"{prefix}{callee}_URL".upper()
            if f"{callee}_url" in service.settings.model_fields:
                assert variable in env, f"{_name(deployment)} leaves {variable} at its default"
        for variable, value in env.items():
            if not (variable.startswith(prefix) and variable.endswith("_URL")):
                continue
            url = urlsplit(value)
            reached, container_port = _service_for(cluster, url.hostname, url.port)
            callee = by_deployment[id(reached)]
            assert variable == f"{prefix}{callee}_URL".upper(), f"{variable} reaches {callee}"
            callee_server = servers[callee][1]
            listens = settings_from_env(handover_services[callee], cluster.env(callee_server)).port
            assert container_port == listens, variable
            calls.add((caller, callee))
    assert {("talent", "engagements"), ("kpi", "engagements")} <= calls


def test_database_connections_at_full_scale_fit_postgres_default_limit(
    cluster, handover_services, settings_from_env
):
    """Each pod listens on one connection: a server for its relay (a talent server that applied
    HRIS events would listen on a second), the HRIS processor for its events."""
    total = 0
    for service in handover_services.values():
        for deployment, container in cluster.running([service.script]):
            if deployment["kind"] != "Deployment" or container["command"][1] == "await-migrations":
                continue
            settings = settings_from_env(service, cluster.env(container))
            if container["command"][1] == "serve":
                assert not getattr(settings, "hris_processor", False), _name(deployment)
            total += _pods_at_most(cluster, deployment) * (
                settings.db_pool_size + settings.db_pool_max_overflow + LISTENER_CONNECTIONS
            )
    assert 0 < total <= POSTGRES_CONNECTIONS_FOR_SERVICES


def test_talent_api_leaves_hris_events_to_a_processor_deployment_of_the_same_image(
    cluster, handover_services, settings_from_env
):
    talent = handover_services["talent"]
    api, server = _servers(cluster, handover_services)["talent"]
    assert settings_from_env(talent, cluster.env(server)).hris_processor is False, _name(api)
    deployment, processor = _hris_processor(cluster)
    assert processor["image"] == server["image"], _name(deployment)
    assert processor["command"] == HRIS_PROCESSOR, _name(deployment)
    settings = settings_from_env(talent, cluster.env(processor))
    assert settings.environment is Environment.PRODUCTION, _name(deployment)
    assert deployment["spec"]["replicas"] >= 1, _name(deployment)


def test_hris_processor_is_reached_by_nothing_and_holds_no_hris_secrets_key(cluster):
    """It applies stored bodies and verifies no signature: the key stays with the API."""
    deployment, processor = _hris_processor(cluster)
    assert "ports" not in processor, _name(deployment)
    for kind, selector in [
        *(("Service", s["spec"]["selector"]) for s in cluster.of_kind("Service")),
        *(
            ("PodDisruptionBudget", b["spec"]["selector"]["matchLabels"])
            for b in cluster.of_kind("PodDisruptionBudget")
        ),
    ]:
        assert deployment not in cluster.selected_by(selector), f"a {kind} selects it"
    assert "TALENT_HRIS_SECRETS_KEYS" not in cluster.env(processor), _name(deployment)


def test_hris_processor_requests_less_cpu_than_the_api_so_deliveries_come_first(
    cluster, handover_services
):
    _, server = _servers(cluster, handover_services)["talent"]
    deployment, processor = _hris_processor(cluster)
    assert _millicores(processor["resources"]["requests"]["cpu"]) < _millicores(
        server["resources"]["requests"]["cpu"]
    ), _name(deployment)


def _millicores(quantity):
    text = str(quantity)
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)


def test_the_cluster_runs_every_container_of_a_service_in_production(
    cluster, handover_services, settings_from_env
):
    checked = 0
    for service in handover_services.values():
        for workload, container in cluster.running([service.script]):
            settings = settings_from_env(service, cluster.env(container))
            assert settings.environment is Environment.PRODUCTION, _name(workload)
            checked += 1
    assert checked >= 3 * len(handover_services)


def test_every_container_of_a_service_takes_its_own_signing_key_from_a_secret(
    cluster, handover_services
):
    """Every command loads the settings, and production refuses them without the key."""
    secrets: dict[str, set[tuple[str, str]]] = {}
    for name, service in handover_services.items():
        variable = f"{_prefix(service)}{SERVICE_KEY}"
        for workload, container in cluster.running([service.script]):
            ref = cluster.secret_refs(container).get(variable)
            assert ref, f"{_name(workload)}: {variable} is not from a Secret"
            entries = [v for v in container.get("env", []) if v["name"] == variable]
            assert len(entries) == 1, f"{_name(workload)} sets {variable} more than once"
            secrets.setdefault(name, set()).add((ref["name"], ref["key"]))
    assert secrets.keys() == handover_services.keys()
    for name, refs in secrets.items():
        assert len(refs) == 1, f"{name}'s containers disagree on its key: {refs}"
    every = [ref for refs in secrets.values() for ref in refs]
    assert len(set(every)) == len(every), "two services would sign with the same key"


def test_no_config_map_or_literal_env_value_holds_a_credential(cluster):
    literals = [
        (_name(document), variable, value)
        for document in cluster.of_kind("ConfigMap")
        for variable, value in document.get("data", {}).items()
    ] + [
        (_name(workload), variable["name"], variable["value"])
        for workload, container in cluster.containers()
        for variable in container.get("env", [])
        if "value" in variable
    ]
    assert literals
    for where, variable, value in literals:
        assert not _CREDENTIAL.search(variable), f"{where}: {variable} must come from a Secret"
        assert not _URL_PASSWORD.search(str(value)), f"{where}: {variable} holds a password"


def test_servers_trust_every_service_and_no_development_key(
    cluster, handover_services, settings_from_env
):
    derived = {
        public_key_text(private_key_from_seed(development_seed(name))) for name in handover_services
    }
    for name, (deployment, server) in _servers(cluster, handover_services).items():
        settings = settings_from_env(handover_services[name], cluster.env(server))
        assert settings.service_public_keys.keys() == handover_services.keys(), _name(deployment)
        trusted = set(settings.service_public_keys.values())
        assert not trusted & derived, f"{_name(deployment)} trusts a development key"
        assert len(trusted) == len(handover_services), f"{_name(deployment)}: keys repeat"


def test_servers_verify_user_tokens_and_name_their_frontends(
    cluster, handover_services, settings_from_env
):
    for name, (deployment, server) in _servers(cluster, handover_services).items():
        settings = settings_from_env(handover_services[name], cluster.env(server))
        assert settings.oidc_issuer, _name(deployment)
        assert urlsplit(settings.oidc_jwks_url).scheme == "https", _name(deployment)
        assert settings.oidc_audience, _name(deployment)
        assert settings.cors_origins, _name(deployment)
        for origin in settings.cors_origins:
            assert urlsplit(origin).scheme == "https", f"{_name(deployment)}: {origin}"
