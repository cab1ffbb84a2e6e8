"""Readers for the deployment files: the workspace, compose, Kubernetes manifests, Dockerfiles,
.dockerignore, and the Caddyfile as `caddy adapt` turns it into JSON."""

import os
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices

from handover_kit.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]
CADDYFILE = REPO / "deploy" / "gateway" / "Caddyfile"
GATEWAY_DOCKERFILE = "deploy/gateway/Dockerfile"
SERVICE_DOCKERFILE = "deploy/docker/service.Dockerfile"
KUBERNETES = REPO / "deploy" / "kubernetes"


# --- YAML ----------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; compose and kubectl refuse the file. So do we."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader


def load_yaml_documents(path: Path) -> list[Any]:
    documents = yaml.load_all(path.read_text(), Loader=_UniqueKeyLoader)
    return [document for document in documents if document is not None]


# --- the workspace and its services ---------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A uv workspace member."""

    dist: str
    directory: str
    dependencies: frozenset[str]
    scripts: frozenset[str]


@dataclass(frozen=True)
class Workspace:
    members: dict[str, Member]

    def closure(self, dist: str) -> set[str]:
        """The member and every workspace member it depends on, transitively."""
        found: set[str] = set()
        pending = [dist]
        while pending:
            current = pending.pop()
            if current not in found:
                found.add(current)
                pending.extend(self.members[current].dependencies & self.members.keys())
        return found


@dataclass(frozen=True)
class Service:
    """A workspace member under services/ with a console script of its own name."""

    name: str
    member: Member
    settings: type[ServiceSettings]

    @property
    def script(self) -> str:
        return self.member.dist

    @property
    def upstream_placeholder(self) -> str:
        """The Caddyfile placeholder that holds this service's address."""
        return f"{self.name.upper()}_UPSTREAM"

    @property
    def default_port(self) -> int:
        port = self.settings.model_fields["port"].default
        assert isinstance(port, int)
        return port

    @property
    def env_names(self) -> frozenset[str]:
        """The environment variables its settings read (case-insensitively: upper-cased here)."""
        prefix = str(self.settings.model_config.get("env_prefix", ""))
        names: set[str] = set()
        for field_name, info in self.settings.model_fields.items():
            alias = info.validation_alias
            if isinstance(alias, AliasChoices):
                names.update(choice for choice in alias.choices if isinstance(choice, str))
            elif isinstance(alias, str):
                names.add(alias)
            else:
                names.add(prefix + field_name)
        return frozenset(name.upper() for name in names)


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return match.group(0).lower().replace("_", "-")


def image_repository(image: str) -> str:
    """`handover/engagements:${HANDOVER_TAG:-dev}` -> `handover/engagements`."""
    image = interpolate(image)
    name, _, tag = image.rpartition(":")
    return name if name and "/" not in tag else image


# --- docker-compose.yml -------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


def interpolate(value: str) -> str:
    """Compose's interpolation on a host that sets nothing: defaults apply; a required
    variable reads as a sample value, as if the operator had set it."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if operator in {"-", ":-"}:
            return argument
        if operator in {"?", ":?"}:
            return f"from-host-{name.lower()}"
        return ""

    return _INTERPOLATION.sub(substitute, value).replace("$$", "$")


def is_interpolation(value: str) -> bool:
    return _INTERPOLATION.fullmatch(value) is not None


def environment(spec: Mapping[str, Any], *, raw: bool = False) -> dict[str, str | None]:
    """A compose service's environment. None means passed through from the host, if set there."""
    env = spec.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {
        name: None if value is None else str(value) if raw else interpolate(str(value))
        for name, value in env.items()
    }


def depends_on(spec: Mapping[str, Any]) -> dict[str, str]:
    """A compose service's dependencies, with the condition each must meet."""
    dependencies = spec.get("depends_on") or {}
    if isinstance(dependencies, list):
        return dict.fromkeys(dependencies, "service_started")
    return {
        name: (rule or {}).get("condition", "service_started")
        for name, rule in dependencies.items()
    }


@dataclass(frozen=True)
class ComposeRoles:
    """Which compose service does what."""

    serve: dict[str, str]  # Handover service name -> compose service running `serve`
    migrate: dict[str, str]  # Handover service name -> compose service running `migrate`
    gateway: str
    database: str
    # compose service -> the Handover service whose other command it runs (a background worker)
    workers: dict[str, str] = field(default_factory=dict)


# --- Kubernetes ---------------------------------------------------------------------------

# What the Secrets hold, shaped as deploy/kubernetes/README.md documents them.
SECRET_SAMPLES = {
    ("handover-db-admin", "database-url"): "postgresql://admin:from-secret@postgres:5432/handover",
}


def secret_sample(name: str, key: str) -> str:
    return SECRET_SAMPLES.get((name, key), f"from-secret-{name}-{key}")


@dataclass(frozen=True)
class Cluster:
    """The Kubernetes manifests kustomization.yaml lists, with the lookups the checks need."""

    documents: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [document for document in self.documents if document["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        matches = [d for d in self.of_kind(kind) if d["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind} {name!r}, found {len(matches)}"
        return matches[0]

    def pod_templates(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(workload, pod spec) for every Deployment and Job."""
        for workload in self.of_kind("Deployment") + self.of_kind("Job"):
            yield workload, workload["spec"]["template"]["spec"]

    def containers(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(workload, container) for every container and init container."""
        for workload, pod in self.pod_templates():
            for container in pod.get("initContainers", []) + pod["containers"]:
                yield workload, container

    def running(self, command: list[str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(workload, container) for the containers whose command starts with these words."""
        return [
            (workload, container)
            for workload, container in self.containers()
            if container.get("command", [])[: len(command)] == command
        ]

    def using(self, repository: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(workload, container) for the containers that run this image, whatever its tag."""
        return [
            (workload, container)
            for workload, container in self.containers()
            if image_repository(container["image"]) == repository
        ]

    def env(self, container: dict[str, Any]) -> dict[str, str]:
        """The container's environment: its ConfigMaps, then `env`, which overrides them.
        A Secret's value reads as a sample of what it holds."""
        resolved: dict[str, str] = {}
        for source in container.get("envFrom", []):
            resolved.update(self.get("ConfigMap", source["configMapRef"]["name"])["data"])
        for variable in container.get("env", []):
            if "value" in variable:
                resolved[variable["name"]] = variable["value"]
                continue
            source = variable["valueFrom"]
            if "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                resolved[variable["name"]] = self.get("ConfigMap", ref["name"])["data"][ref["key"]]
            else:
                ref = source["secretKeyRef"]
                resolved[variable["name"]] = secret_sample(ref["name"], ref["key"])
        return resolved

    @staticmethod
    def secret_refs(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The container's variables that come from a Secret, with their secretKeyRef."""
        return {
            variable["name"]: variable["valueFrom"]["secretKeyRef"]
            for variable in container.get("env", [])
            if "secretKeyRef" in variable.get("valueFrom", {})
        }

    def selected_by(self, selector: Mapping[str, str]) -> list[dict[str, Any]]:
        """The Deployments and Jobs whose pods carry every label of the selector."""
        return [
            workload
            for workload, _ in self.pod_templates()
            if selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()
        ]


# --- Dockerfiles and .dockerignore ---------------------------------------------------------

_DOCKERFILE_VARIABLE = re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?+][^}]*)?\}|\$([A-Za-z_]\w*)"
)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.instructions)


@dataclass(frozen=True)
class Copy:
    sources: list[str]
    destination: str
    source_stage: str | None


@dataclass
class Dockerfile:
    """A Dockerfile's stages, with build arguments substituted as BuildKit would."""

    path: str
    global_args: dict[str, str]
    stages: list[Stage]

    @classmethod
    def read(cls, path: str) -> "Dockerfile":
        instructions, pending = [], ""
        for line in (REPO / path).read_text().splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            keyword, _, arguments = (pending + stripped).partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
            pending = ""
        global_args: dict[str, str] = {}
        stages: list[Stage] = []
        for keyword, arguments in instructions:
            if keyword == "FROM":
                base, *alias = re.split(r"\s+AS\s+", arguments, flags=re.IGNORECASE)
                stages.append(Stage(base.strip(), alias[0].strip() if alias else None))
            elif stages:
                stages[-1].instructions.append((keyword, arguments))
            elif keyword == "ARG":
                name, _, default = arguments.partition("=")
                global_args[name] = default
        return cls(path, global_args, stages)

    def stage(self, name: str) -> Stage:
        return next(stage for stage in self.stages if stage.name == name)

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def args(self, stage: Stage, build_args: Mapping[str, str]) -> dict[str, str]:
        """The values of the build arguments a stage declares."""
        values = {}
        for keyword, arguments in stage:
            if keyword == "ARG":
                name, has_default, default = arguments.partition("=")
                inherited = default if has_default else self.global_args.get(name, "")
                values[name] = build_args.get(name, inherited)
        return values

    def base(self, stage: Stage, build_args: Mapping[str, str]) -> str:
        return expand(stage.base, {**self.global_args, **build_args})

    def copies(self, stage: Stage, build_args: Mapping[str, str]) -> list[Copy]:
        args = self.args(stage, build_args)
        copies = []
        for keyword, arguments in stage:
            if keyword in {"COPY", "ADD"}:
                words = shlex.split(expand(arguments, args))
                flags = dict(w[2:].partition("=")[::2] for w in words if w.startswith("--"))
                paths = [w for w in words if not w.startswith("--")]
                copies.append(Copy(paths[:-1], paths[-1], flags.get("from")))
        return copies

    def runs(self, stage: Stage) -> list[str]:
        return [arguments for keyword, arguments in stage if keyword == "RUN"]

    def bind_mount_sources(self, stage: Stage) -> list[str]:
        """Paths a RUN bind-mounts from the build context."""
        sources = []
        for run in self.runs(stage):
            for mount in re.findall(r"--mount=(\S+)", run):
                options = dict(option.partition("=")[::2] for option in mount.split(","))
                if options.get("type") == "bind" and "from" not in options:
                    sources.append(options.get("source", "."))
        return sources

    def env(self, stage: Stage, build_args: Mapping[str, str]) -> dict[str, str]:
        args = self.args(stage, build_args)
        values: dict[str, str] = {}
        for keyword, arguments in stage:
            if keyword == "ENV":
                for word in shlex.split(expand(arguments, {**args, **values})):
                    name, _, value = word.partition("=")
                    values[name] = value
        return values

    def user(self, stage: Stage) -> str | None:
        users = [arguments for keyword, arguments in stage if keyword == "USER"]
        return users[-1] if users else None

    def context_paths(self, build_args: Mapping[str, str]) -> set[str]:
        """Every path the build takes from the context: COPY sources and bind mounts."""
        paths: set[str] = set()
        for stage in self.stages:
            args = self.args(stage, build_args)
            paths.update(expand(source, args) for source in self.bind_mount_sources(stage))
            for copy in self.copies(stage, build_args):
                if copy.source_stage is None:
                    paths.update(copy.sources)
        return {os.path.normpath(path) for path in paths}


def expand(text: str, values: Mapping[str, str]) -> str:
    """Substitute `$NAME` and `${NAME...}` with the given values (unknown names: empty)."""
    return _DOCKERFILE_VARIABLE.sub(lambda m: values.get(m.group(1) or m.group(2), ""), text)


@dataclass(frozen=True)
class DockerIgnore:
    """.dockerignore as BuildKit applies it: the last pattern that matches a path or any of its
    parent directories decides, and a `!` pattern brings a path back."""

    rules: list[tuple[bool, re.Pattern[str]]]

    @classmethod
    def read(cls) -> "DockerIgnore":
        rules = []
        for line in (REPO / ".dockerignore").read_text().splitlines():
            pattern = line.strip()
            if not pattern or pattern.startswith("#"):
                continue
            include = pattern.startswith("!")
            pattern = os.path.normpath(pattern.removeprefix("!").strip()).lstrip("/")
            rules.append((include, re.compile(_glob_to_regex(pattern))))
        return cls(rules)

    def excludes(self, path: str) -> bool:
        parts = Path(path).parts
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        excluded = False
        for include, regex in self.rules:
            if any(regex.fullmatch(candidate) for candidate in candidates):
                excluded = not include
        return excluded


def _glob_to_regex(pattern: str) -> str:
    regex, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif pattern[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        elif pattern[i] == "?":
            regex, i = regex + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            regex, i = regex + pattern[i : end + 1], end + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return regex


# --- the Caddyfile, adapted ----------------------------------------------------------------

# `{$NAME}` or `{$NAME:default}`: Caddy substitutes these from the environment when it parses.
CADDY_ENV_PLACEHOLDER = re.compile(r"\{\$([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


@dataclass(frozen=True)
class CaddyConfig:
    """The gateway's configuration as `caddy adapt` produces it from the Caddyfile."""

    config: dict[str, Any]

    def handlers(self) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
        """(paths the enclosing route matches, handler) for every handler, however nested."""

        def walk(
            routes: list[dict[str, Any]], paths: tuple[str, ...]
        ) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
            for route in routes:
                matched = tuple(p for m in route.get("match", []) for p in m.get("path", []))
                for handler in route.get("handle", []):
                    yield matched or paths, handler
                    yield from walk(handler.get("routes", []), matched or paths)

        for server in self.config["apps"]["http"]["servers"].values():
            yield from walk(server.get("routes", []), ())

    def listen_ports(self) -> list[int]:
        servers = self.config["apps"]["http"]["servers"].values()
        return [int(address.rpartition(":")[2]) for s in servers for address in s["listen"]]

    def proxied(self) -> list[tuple[tuple[str, ...], str]]:
        """(paths, upstream dial) for every reverse proxy."""
        return [
            (paths, upstream["dial"])
            for paths, handler in self.handlers()
            if handler["handler"] == "reverse_proxy"
            for upstream in handler["upstreams"]
        ]

    def dials(self) -> set[str]:
        return {dial for _, dial in self.proxied()}

    def roots(self) -> dict[tuple[str, ...], str]:
        """The file server root each path is served from."""
        return {
            paths: handler["root"]
            for paths, handler in self.handlers()
            if handler["handler"] == "vars" and "root" in handler
        }
