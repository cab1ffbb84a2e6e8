"""Whether an OpenAPI document keeps every promise an earlier one made to its clients.

A client breaks when something it sends is refused, or something it reads is missing or has
changed. So a request may only come to accept more, and a response only to say less: a new
operation, an optional parameter or property, a looser limit, a new property in an answer are
all compatible; a removed operation, a new required input, a tighter limit, a removed or retyped
property of an answer, an enum value an answer may now hold, are not.

Each released version's contract is kept as a snapshot, `openapi-<version>.json`; the contract
under a version must keep the promises of that version's snapshot, and a breaking change comes
with a new version and a new snapshot.
"""

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# A bound, and whether it is a lower one: a lower bound that rises narrows what is allowed.
_BOUNDS = {
    "minLength": True,
    "minimum": True,
    "exclusiveMinimum": True,
    "minItems": True,
    "minProperties": True,
    "maxLength": False,
    "maximum": False,
    "exclusiveMaximum": False,
    "maxItems": False,
    "maxProperties": False,
}
# Keywords compared only for equality: any change to them is taken for a break.
_OPAQUE = (
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "prefixItems",
    "contains",
    "patternProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "uniqueItems",
    "multipleOf",
)


class Flow(Enum):
    """Who produces the value: the client (a request) or the service (a response)."""

    REQUEST = "request"
    RESPONSE = "response"


@dataclass(frozen=True)
class Break:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


class NoSnapshot(LookupError):
    pass


def snapshot_path(directory: Path, version: str) -> Path:
    return directory / f"openapi-{version}.json"


def take_snapshot(document: dict[str, Any], directory: Path) -> Path:
    """Keep `document` as the contract of its version. A released contract never changes, so
    an existing snapshot is not replaced."""
    path = snapshot_path(directory, document["info"]["version"])
    if path.exists():
        raise FileExistsError(f"{path} exists: a new contract needs a new version")
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path


def breaks_since_snapshot(document: dict[str, Any], directory: Path) -> list[Break]:
    """How `document` breaks the snapshot of its own version."""
    path = snapshot_path(directory, document["info"]["version"])
    if not path.exists():
        raise NoSnapshot(f"{path} does not exist: take a snapshot of this version")
    return breaking_changes(json.loads(path.read_text()), document)


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Break]:
    """What a client written against `old` finds broken in `new`."""
    comparison = _Comparison(old, new)
    for path, old_item in old.get("paths", {}).items():
        new_item = new.get("paths", {}).get(path, {})
        for method in _METHODS:
            if method not in old_item:
                continue
            where = f"{method.upper()} {path}"
            if method not in new_item:
                comparison.report(where, "operation removed")
            else:
                comparison.operation(where, old_item[method], new_item[method])
    return comparison.breaks


@dataclass
class _Comparison:
    old: dict[str, Any]
    new: dict[str, Any]
    breaks: list[Break] = field(default_factory=list)
    _comparing: set[tuple[str | None, str | None, Flow]] = field(default_factory=set)

    def report(self, where: str, what: str) -> None:
        self.breaks.append(Break(where, what))

    def operation(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        if old.get("operationId") != new.get("operationId"):
            self.report(where, f"operationId {old.get('operationId')} -> {new.get('operationId')}")
        self.security(where, old, new)
        self.parameters(where, old, new)
        self.request_body(where, old.get("requestBody"), new.get("requestBody"))
        for status, old_response in old.get("responses", {}).items():
            new_response = new.get("responses", {}).get(status)
            if new_response is None:
                if status.startswith("2"):
                    self.report(where, f"response {status} removed")
                continue
            self.content(
                f"{where} response {status}",
                _resolve(self.old, old_response).get("content", {}),
                _resolve(self.new, new_response).get("content", {}),
                Flow.RESPONSE,
            )

    def security(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        if "security" not in new:
            return
        if not old.get("security"):
            self.report(where, "authentication now required")
            return
        had = set(_scopes(old["security"]))
        for scope in _scopes(new["security"]):
            if scope not in had:
                self.report(where, f"scope {scope} now required")

    def parameters(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        old_parameters = _parameters(self.old, old)
        new_parameters = _parameters(self.new, new)
        for key, parameter in new_parameters.items():
            if parameter.get("required") and not old_parameters.get(key, {}).get("required"):
                self.report(where, f"{key[0]} parameter {key[1]} now required")
        for key, parameter in old_parameters.items():
            if key not in new_parameters:
                self.report(where, f"{key[0]} parameter {key[1]} removed")
            else:
                self.schema(
                    f"{where} {key[0]} parameter {key[1]}",
                    parameter.get("schema", {}),
                    new_parameters[key].get("schema", {}),
                    Flow.REQUEST,
                )

    def request_body(self, where: str, old: Any, new: Any) -> None:
        old = _resolve(self.old, old) if old else None
        new = _resolve(self.new, new) if new else None
        if new and new.get("required") and not (old and old.get("required")):
            self.report(where, "request body now required")
        if old and not new:
            self.report(where, "request body removed")
        if old and new:
            self.content(f"{where} request", old["content"], new["content"], Flow.REQUEST)

    def content(self, where: str, old: dict[str, Any], new: dict[str, Any], flow: Flow) -> None:
        for media_type, media in old.items():
            if media_type not in new:
                self.report(where, f"{media_type} removed")
            else:
                self.schema(where, media.get("schema", {}), new[media_type].get("schema", {}), flow)

    def schema(self, where: str, old: dict[str, Any], new: dict[str, Any], flow: Flow) -> None:
        # Only references make a schema recursive: stop where a pair is already being compared.
        pair = (old.get("$ref"), new.get("$ref"), flow)
        if pair[:2] != (None, None):
            if pair in self._comparing:
                return
            self._comparing.add(pair)
        try:
            self.resolved(where, _resolve(self.old, old), _resolve(self.new, new), flow)
        finally:
            self._comparing.discard(pair)

    def resolved(self, where: str, old: dict[str, Any], new: dict[str, Any], flow: Flow) -> None:
        old_nullable, old_options = _options(self.old, old)
        new_nullable, new_options = _options(self.new, new)
        if flow is Flow.REQUEST and old_nullable and not new_nullable:
            self.report(where, "null no longer accepted")
        if flow is Flow.RESPONSE and new_nullable and not old_nullable:
            self.report(where, "may now be null")
        if len(old_options) == len(new_options) == 1:
            self.single(where, old_options[0], new_options[0], flow)
        elif old_options != new_options:
            self.report(where, "alternatives changed")

    def single(self, where: str, old: dict[str, Any], new: dict[str, Any], flow: Flow) -> None:
        # What the producer of the value may send must stay within what its reader takes.
        sent, taken = (old, new) if flow is Flow.REQUEST else (new, old)
        if not _types_within(_types(sent), _types(taken)):
            self.report(where, f"type {_shown(old.get('type'))} -> {_shown(new.get('type'))}")
        self.enum(where, _enum(old), _enum(new), flow)
        for keyword in ("format", "pattern"):
            if taken.get(keyword) is not None and sent.get(keyword) != taken.get(keyword):
                self.report(where, f"{keyword} {old.get(keyword)} -> {new.get(keyword)}")
        for bound, lower in _BOUNDS.items():
            if _narrower(taken.get(bound), sent.get(bound), lower=lower):
                self.report(where, f"{bound} {old.get(bound)} -> {new.get(bound)}")
        for keyword in _OPAQUE:
            if old.get(keyword) != new.get(keyword):
                self.report(where, f"{keyword} changed")
        if "items" in old and "items" in new:
            self.schema(f"{where}[]", old["items"], new["items"], flow)
        self.properties(where, old, new, flow)

    def enum(self, where: str, old: set[Any] | None, new: set[Any] | None, flow: Flow) -> None:
        if flow is Flow.REQUEST and new is not None:
            if old is None:
                self.report(where, f"only {sorted(new, key=repr)} accepted")
            for value in sorted(old - new if old else set(), key=repr):
                self.report(where, f"{value!r} no longer accepted")
        if flow is Flow.RESPONSE and old is not None:
            if new is None:
                self.report(where, f"no longer limited to {sorted(old, key=repr)}")
            for value in sorted(new - old if new else set(), key=repr):
                self.report(where, f"{value!r} may now be answered")

    def properties(self, where: str, old: dict[str, Any], new: dict[str, Any], flow: Flow) -> None:
        old_properties = old.get("properties", {})
        new_properties = new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name in sorted(old_properties.keys() - new_properties.keys()):
            self.report(where, f"property {name} removed")
        if flow is Flow.REQUEST:
            for name in sorted(new_required - old_required):
                self.report(where, f"property {name} now required")
            closed = new.get("additionalProperties") is False
            if closed and old.get("additionalProperties") is not False:
                self.report(where, "other properties no longer accepted")
        else:
            for name in sorted((old_required - new_required) & new_properties.keys()):
                self.report(where, f"property {name} no longer always answered")
        for name in sorted(old_properties.keys() & new_properties.keys()):
            self.schema(f"{where}.{name}", old_properties[name], new_properties[name], flow)
        old_other, new_other = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_other, dict) and isinstance(new_other, dict):
            self.schema(f"{where}.*", old_other, new_other, flow)


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _scopes(requirements: list[dict[str, list[str]]]) -> list[str]:
    return [scope for requirement in requirements for s in requirement.values() for scope in s]


def _parameters(
    document: dict[str, Any], operation: dict[str, Any]
) -> dict[tuple[str, str], dict[str, Any]]:
    resolved = (_resolve(document, parameter) for parameter in operation.get("parameters", []))
    return {(parameter["in"], parameter["name"]): parameter for parameter in resolved}


def _options(document: dict[str, Any], schema: dict[str, Any]) -> tuple[bool, list[dict[str, Any]]]:
    """Whether `schema` allows null, and the alternatives it allows besides."""
    listed = schema.get("anyOf") or schema.get("oneOf")
    if listed is None:
        types = _types(schema)
        if "null" in types and len(types) > 1:
            return True, [{**schema, "type": sorted(types - {"null"})}]
        return False, [schema]
    options = [_resolve(document, option) for option in listed]
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "oneOf")}
    others = [{**rest, **option} for option in options if _types(option) != {"null"}]
    return len(others) < len(options), others


def _types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a schema allows; empty when it does not say."""
    declared = schema.get("type")
    return set(declared) if isinstance(declared, list) else {declared} if declared else set()


def _types_within(inner: set[str], outer: set[str]) -> bool:
    if not outer:
        return True
    widened = outer | ({"integer"} if "number" in outer else set())
    return bool(inner) and inner <= widened


def _enum(schema: dict[str, Any]) -> set[Any] | None:
    if "const" in schema:
        return {_hashable(schema["const"])}
    return {_hashable(value) for value in schema["enum"]} if "enum" in schema else None


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def _narrower(taken: Any, sent: Any, *, lower: bool) -> bool:
    """Whether the reader's bound `taken` refuses values the sender's bound `sent` allows."""
    if taken is None:
        return False
    if sent is None:
        return True
    return bool(taken > sent) if lower else bool(taken < sent)


def _shown(value: Any) -> str:
    return "any" if value is None else str(value)
