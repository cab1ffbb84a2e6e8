"""One OpenAPI document for the whole product: the three services' documents, merged.

The merged document is committed at deploy/gateway/site/openapi.json and served by
the gateway; a test fails when it is not what the code produces.
"""

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from handover_tools.services import SERVICES, Service

TITLE = "Handover API"
VERSION = "0.2.1"
DESCRIPTION = (
    "The system of record for Build-Operate-Transfer engagements: organizations and "
    "engagements, hiring and team members, and the KPIs an engagement is run on. "
    "Errors are RFC 9457 problem documents; lists are cursor-paginated."
)
# Building an app opens no connection, but its settings need a URL to validate.
_PLACEHOLDER_DATABASE_URL = "postgresql://openapi@localhost/openapi"


class MergeConflict(ValueError):
    pass


def service_document(service: Service) -> dict[str, Any]:
    module_name, _, factory_name = service.app_factory.partition(":")
    factory: Callable[..., FastAPI] = getattr(importlib.import_module(module_name), factory_name)
    settings = service.settings.with_database(_PLACEHOLDER_DATABASE_URL)
    return factory(settings).openapi()


def merge(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {}
    tags_by_name: dict[str, dict[str, Any]] = {}
    operation_ids: dict[str, str] = {}
    for name, document in documents.items():
        for path, item in document.get("paths", {}).items():
            if path in paths:
                raise MergeConflict(f"{name} and another service both serve {path}")
            paths[path] = item
            for operation in item.values():
                op_id = operation["operationId"]
                if op_id in operation_ids:
                    raise MergeConflict(
                        f"operationId {op_id} is used by {name} and {operation_ids[op_id]}"
                    )
                operation_ids[op_id] = name
        for kind, named in document.get("components", {}).items():
            merged = components.setdefault(kind, {})
            for component_name, component in named.items():
                if merged.setdefault(component_name, component) != component:
                    raise MergeConflict(
                        f"{kind} {component_name} differs between {name} and another service"
                    )
        for tag in document.get("tags", []):
            seen = tags_by_name.get(tag["name"])
            if seen is None:
                tags_by_name[tag["name"]] = {**tag, "x-service": name}
            elif {key: value for key, value in seen.items() if key != "x-service"} != tag:
                raise MergeConflict(f"tag {tag['name']} differs between {name} and another service")
            else:
                seen.pop("x-service", None)  # a tag of every service, such as operations
    return {
        "openapi": next(iter(documents.values()))["openapi"],
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "tags": list(tags_by_name.values()),
        "paths": paths,
        "components": {
            kind: dict(sorted(named.items())) for kind, named in sorted(components.items())
        },
    }


def merged_document() -> dict[str, Any]:
    return merge({service.name: service_document(service) for service in SERVICES})


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write(path: Path) -> None:
    path.write_text(render(merged_document()))
