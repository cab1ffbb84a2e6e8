"""The Dockerfiles and .dockerignore: what goes into each image, and as whom it runs."""

import importlib.util
import os
import re
import shlex
import tomllib
from pathlib import Path

from .support import (
    GATEWAY_DOCKERFILE,
    REPO,
    SERVICE_DOCKERFILE,
    Dockerfile,
    DockerIgnore,
    environment,
    expand,
    image_repository,
)


def _builds(compose):
    builds = {key: spec["build"] for key, spec in compose["services"].items() if "build" in spec}
    assert builds
    return builds


def test_compose_builds_every_image_from_the_repository_root_with_a_dockerfile_there(compose):
    for key, build in _builds(compose).items():
        assert build["context"] == ".", key
        assert (REPO / build["dockerfile"]).is_file(), key


def test_every_service_image_is_built_for_the_workspace_member_its_command_runs(
    compose, workspace, handover_services
):
    built = set()
    for key, build in _builds(compose).items():
        if build["dockerfile"] != SERVICE_DOCKERFILE:
            continue
        name = build["args"]["SERVICE"]
        member = workspace.members.get(f"handover-{name}")
        assert member is not None, f"{key}: SERVICE={name} is no workspace member"
        assert member.directory == f"services/{name}", key
        assert compose["services"][key]["command"][0] == handover_services[name].script, key
        built.add(name)
    assert built == set(handover_services)


def test_service_image_copies_exactly_the_members_its_service_depends_on(
    workspace, handover_services
):
    dockerfile = Dockerfile.read(SERVICE_DOCKERFILE)
    member_dirs = {member.directory: dist for dist, member in workspace.members.items()}
    for name, service in handover_services.items():
        copied = {
            os.path.normpath(source)
            for copy in dockerfile.copies(dockerfile.stage("builder"), {"SERVICE": name})
            if copy.source_stage is None
            for source in copy.sources
        }
        assert {member_dirs[d] for d in copied if d in member_dirs} == workspace.closure(
            service.member.dist
        ), name


def test_service_image_installs_from_the_lock_without_dev_dependencies_or_editables(
    handover_services,
):
    dockerfile = Dockerfile.read(SERVICE_DOCKERFILE)
    builder = dockerfile.stage("builder")
    syncs = [run for run in dockerfile.runs(builder) if "uv sync" in run]
    assert syncs
    for name in handover_services:
        env = dockerfile.args(builder, {"SERVICE": name})
        for sync in syncs:
            words = shlex.split(expand(sync, env))
            assert {"--frozen", "--no-dev", "--no-editable"} <= set(words), sync
            assert words[words.index("--package") + 1] == f"handover-{name}", sync


def test_service_runtime_takes_only_the_venv_from_a_builder_on_the_same_python():
    dockerfile = Dockerfile.read(SERVICE_DOCKERFILE)
    builder, runtime = dockerfile.stage("builder"), dockerfile.final
    build_args = {"SERVICE": "engagements"}
    venv = dockerfile.env(builder, build_args)["UV_PROJECT_ENVIRONMENT"]
    copies = dockerfile.copies(runtime, build_args)
    assert [(c.source_stage, c.sources, c.destination) for c in copies] == [
        ("builder", [venv], venv)
    ]
    assert dockerfile.env(runtime, build_args)["PATH"].startswith(f"{venv}/bin:")
    # The venv's interpreter is a link to the base image's python: the bases must be the same.
    assert dockerfile.base(builder, {}) == dockerfile.base(runtime, {})


def test_images_run_as_the_non_root_user_their_pods_pin(compose, cluster):
    images = {
        image_repository(spec["image"]): spec["build"]["dockerfile"]
        for spec in compose["services"].values()
        if "build" in spec
    }
    checked = 0
    for workload, pod in cluster.pod_templates():
        for container in pod.get("initContainers", []) + pod["containers"]:
            dockerfile = Dockerfile.read(images[image_repository(container["image"])])
            user = dockerfile.user(dockerfile.final)
            assert user is not None, dockerfile.path
            assert re.fullmatch(r"\d+(:\d+)?", user), (
                f"{dockerfile.path}: USER {user} is not numeric"
            )
            uid, _, gid = user.partition(":")
            assert int(uid) != 0, dockerfile.path
            context = pod["securityContext"]
            assert context["runAsNonRoot"] is True, workload["metadata"]["name"]
            assert context["runAsUser"] == int(uid), workload["metadata"]["name"]
            if gid:
                assert context.get("runAsGroup", int(gid)) == int(gid), workload["metadata"]["name"]
            checked += 1
    assert checked


def _context_paths(compose):
    paths = set()
    for build in _builds(compose).values():
        paths |= Dockerfile.read(build["dockerfile"]).context_paths(build.get("args") or {})
    assert paths
    return paths


def test_every_path_an_image_takes_from_the_context_exists_and_is_sent(compose):
    ignore = DockerIgnore.read()
    for path in _context_paths(compose):
        assert (REPO / path).exists(), path
        assert not ignore.excludes(path), f"{path} is excluded by .dockerignore"
        if (REPO / path).is_dir():
            files = [f for f in (REPO / path).rglob("*") if f.is_file()]
            sent = [f for f in files if not ignore.excludes(str(f.relative_to(REPO)))]
            assert sent, f"everything under {path} is excluded by .dockerignore"


def test_dockerignore_keeps_local_state_secrets_and_dev_tools_out_of_the_context():
    ignore = DockerIgnore.read()
    for path in (
        ".git/config",
        ".venv/bin/python",
        ".env",
        "services/talent/.env",
        "services/kit/src/handover_kit/__pycache__/settings.cpython-311.pyc",
        "tests/conftest.py",
        "tools/src/handover_tools/cli.py",
        "deploy/kubernetes/kustomization.yaml",
    ):
        assert ignore.excludes(path), path


def test_gateway_docs_assets_are_the_fastapi_offline_version_the_lock_pins():
    dockerfile = Dockerfile.read(GATEWAY_DOCKERFILE)
    pinned = dockerfile.args(dockerfile.stage("docs-assets"), {})["FASTAPI_OFFLINE_VERSION"]
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    [locked] = [p["version"] for p in lock["package"] if p["name"] == "fastapi-offline"]
    assert pinned == locked


def test_gateway_image_puts_the_caddyfile_site_and_assets_where_caddy_reads_them(
    compose, compose_roles, gateway_image, cluster, adapt_caddyfile
):
    dockerfile = Dockerfile.read(GATEWAY_DOCKERFILE)
    copies = {
        (copy.source_stage, os.path.normpath(source)): os.path.normpath(copy.destination)
        for copy in dockerfile.copies(dockerfile.final, {})
        for source in copy.sources
    }
    assert copies[(None, "deploy/gateway/Caddyfile")] == "/etc/caddy/Caddyfile"
    site = copies[(None, "deploy/gateway/site")]
    [assets] = [
        destination
        for (stage, source), destination in copies.items()
        if stage == "docs-assets" and source.endswith("/fastapi_offline/static")
    ]

    [(_, container)] = cluster.using(gateway_image)
    for env in (environment(compose["services"][compose_roles.gateway]), cluster.env(container)):
        roots = adapt_caddyfile(env).roots()
        assert roots[("/openapi.json",)] == site
        assert roots[("/docs",)] == site
        assert roots[("/docs/assets/*",)] == assets


def test_docs_page_finds_every_asset_it_loads_in_the_fastapi_offline_package():
    spec = importlib.util.find_spec("fastapi_offline")
    assert spec is not None
    assert spec.origin is not None
    static = Path(spec.origin).parent / "static"
    docs = (REPO / "deploy" / "gateway" / "site" / "docs.html").read_text()
    loaded = set(re.findall(r"/docs/assets/([\w.-]+)", docs))
    assert {"swagger-ui-bundle.js", "swagger-ui.css"} <= loaded
    assert loaded <= {path.name for path in static.iterdir()}
