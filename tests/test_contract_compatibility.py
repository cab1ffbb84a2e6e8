import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from handover_tools import compatibility, openapi
from handover_tools.cli import CONTRACTS
from handover_tools.compatibility import breaking_changes

Change = Callable[[dict[str, Any]], None]


def test_the_contract_keeps_every_promise_of_the_snapshot_of_its_version() -> None:
    document = openapi.merged_document()
    try:
        breaks = compatibility.breaks_since_snapshot(document, CONTRACTS)
    except compatibility.NoSnapshot as exc:
        pytest.fail(f"{exc}: `python3 dev.py openapi --snapshot`")
    assert not breaks, "\n".join(
        [
            "Breaking changes: bump VERSION in tools/src/handover_tools/openapi.py, then "
            "`python3 dev.py openapi --snapshot`.",
            *map(str, breaks),
        ]
    )


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _contract() -> dict[str, Any]:
    nullable_text = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Things", "version": "1.0.0"},
        "paths": {
            "/v1/things": {
                "get": {
                    "operationId": "list_things",
                    "security": [{"bearer": ["things:read"]}],
                    "parameters": [{"$ref": "#/components/parameters/Limit"}],
                    "responses": {"200": {"description": "OK", **_json(_ref("ThingPage"))}},
                },
                "post": {
                    "operationId": "create_thing",
                    "requestBody": {"required": True, **_json(_ref("ThingCreate"))},
                    "responses": {
                        "201": {"description": "Created", **_json(_ref("ThingRead"))},
                        "422": {"description": "Invalid"},
                    },
                },
            },
        },
        "components": {
            "parameters": {
                "Limit": {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                }
            },
            "schemas": {
                "ThingCreate": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "maxLength": 100},
                        "kind": {"type": "string", "enum": ["a", "b"]},
                        "note": nullable_text,
                    },
                    "required": ["name"],
                },
                "ThingRead": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "name": {"type": "string", "maxLength": 100},
                        "kind": _ref("Kind"),
                        "note": nullable_text,
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["id", "name", "kind", "note", "tags"],
                },
                "ThingPage": {
                    "type": "object",
                    "properties": {
                        "items": {"type": "array", "items": _ref("ThingRead")},
                        "next_cursor": nullable_text,
                    },
                    "required": ["items", "next_cursor"],
                },
                "Kind": {"type": "string", "enum": ["a", "b"]},
            },
        },
    }


def _changed(change: Change) -> dict[str, Any]:
    document = copy.deepcopy(_contract())
    change(document)
    return document


def _schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def _operation(document: dict[str, Any], method: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"]["/v1/things"][method]
    return operation


def _add_required_parameter(document: dict[str, Any]) -> None:
    _operation(document, "get")["parameters"].append(
        {"name": "owner", "in": "query", "required": True, "schema": {"type": "string"}}
    )


def _require_size(document: dict[str, Any]) -> None:
    _schema(document, "ThingCreate")["properties"]["size"] = {"type": "integer"}
    _schema(document, "ThingCreate")["required"].append("size")


def _answer_200_not_201(document: dict[str, Any]) -> None:
    responses = _operation(document, "post")["responses"]
    responses["200"] = responses.pop("201")


def _rename_thing_read(document: dict[str, Any]) -> None:
    document["components"]["schemas"]["Thing"] = _schema(document, "ThingRead")
    _operation(document, "post")["responses"]["201"].update(_json(_ref("Thing")))


def _make_nullable(schema: dict[str, Any], name: str) -> None:
    schema["properties"][name] = {"anyOf": [schema["properties"][name], {"type": "null"}]}


BREAKING: dict[str, tuple[Change, str]] = {
    "operation removed": (
        lambda d: d["paths"]["/v1/things"].pop("post"),
        "POST /v1/things: operation removed",
    ),
    "path removed": (lambda d: d["paths"].clear(), "GET /v1/things: operation removed"),
    "operation renamed": (
        lambda d: _operation(d, "get").update(operationId="things"),
        "operationId list_things -> things",
    ),
    "scope added": (
        lambda d: _operation(d, "get")["security"][0]["bearer"].append("things:admin"),
        "scope things:admin now required",
    ),
    "authentication added": (
        lambda d: _operation(d, "post").update(security=[{"bearer": []}]),
        "authentication now required",
    ),
    "required parameter added": (_add_required_parameter, "query parameter owner now required"),
    "parameter made required": (
        lambda d: d["components"]["parameters"]["Limit"].update(required=True),
        "query parameter limit now required",
    ),
    "parameter removed": (
        lambda d: _operation(d, "get").pop("parameters"),
        "query parameter limit removed",
    ),
    "parameter bound tightened": (
        lambda d: d["components"]["parameters"]["Limit"]["schema"].update(maximum=100),
        "query parameter limit: maximum 200 -> 100",
    ),
    "request property made required": (
        lambda d: _schema(d, "ThingCreate")["required"].append("kind"),
        "POST /v1/things request: property kind now required",
    ),
    "required request property added": (_require_size, "request: property size now required"),
    "request property removed": (
        lambda d: _schema(d, "ThingCreate")["properties"].pop("note"),
        "POST /v1/things request: property note removed",
    ),
    "request property retyped": (
        lambda d: _schema(d, "ThingCreate")["properties"].update(name={"type": "integer"}),
        "POST /v1/things request.name: type string -> integer",
    ),
    "request length tightened": (
        lambda d: _schema(d, "ThingCreate")["properties"]["name"].update(maxLength=50),
        "request.name: maxLength 100 -> 50",
    ),
    "request format added": (
        lambda d: _schema(d, "ThingCreate")["properties"]["name"].update(format="email"),
        "request.name: format None -> email",
    ),
    "request enum value removed": (
        lambda d: _schema(d, "ThingCreate")["properties"]["kind"].update(enum=["a"]),
        "request.kind: 'b' no longer accepted",
    ),
    "request null refused": (
        lambda d: _schema(d, "ThingCreate")["properties"].update(note={"type": "string"}),
        "request.note: null no longer accepted",
    ),
    "request closed to other properties": (
        lambda d: _schema(d, "ThingCreate").update(additionalProperties=False),
        "POST /v1/things request: other properties no longer accepted",
    ),
    "request body made required": (
        lambda d: _operation(d, "get").update(requestBody={"required": True, **_json({})}),
        "GET /v1/things: request body now required",
    ),
    "response enum value added": (
        lambda d: _schema(d, "Kind")["enum"].append("c"),
        "GET /v1/things response 200.items[].kind: 'c' may now be answered",
    ),
    "response property removed": (
        lambda d: _schema(d, "ThingRead")["properties"].pop("name"),
        "POST /v1/things response 201: property name removed",
    ),
    "response property retyped": (
        lambda d: _schema(d, "ThingRead")["properties"].update(id={"type": "integer"}),
        "response 201.id: type string -> integer",
    ),
    "response format dropped": (
        lambda d: _schema(d, "ThingRead")["properties"]["id"].pop("format"),
        "response 201.id: format uuid -> None",
    ),
    "response items retyped": (
        lambda d: _schema(d, "ThingRead")["properties"]["tags"].update(items={"type": "integer"}),
        "response 201.tags[]: type string -> integer",
    ),
    "response property made optional": (
        lambda d: _schema(d, "ThingRead")["required"].remove("kind"),
        "response 201: property kind no longer always answered",
    ),
    "response property made nullable": (
        lambda d: _make_nullable(_schema(d, "ThingRead"), "name"),
        "response 201.name: may now be null",
    ),
    "response bound loosened": (
        lambda d: _schema(d, "ThingRead")["properties"]["name"].update(maxLength=200),
        "response 201.name: maxLength 100 -> 200",
    ),
    "success status changed": (_answer_200_not_201, "POST /v1/things: response 201 removed"),
    "response media type removed": (
        lambda d: _operation(d, "get")["responses"]["200"].update(
            content={"text/csv": {"schema": {"type": "string"}}}
        ),
        "GET /v1/things response 200: application/json removed",
    ),
    "composition changed": (
        lambda d: _schema(d, "ThingRead").update(allOf=[{"required": ["id"]}]),
        "allOf changed",
    ),
}

COMPATIBLE: dict[str, Change] = {
    "operation added": lambda d: d["paths"]["/v1/things"].update(
        delete={"operationId": "clear_things", "responses": {"204": {"description": "Gone"}}}
    ),
    "optional parameter added": lambda d: (
        _operation(d, "get")
        .setdefault("parameters", [])
        .append({"name": "kind", "in": "query", "required": False, "schema": _ref("Kind")})
    ),
    "parameter bound loosened": lambda d: d["components"]["parameters"]["Limit"]["schema"].update(
        maximum=500
    ),
    "scope dropped": lambda d: _operation(d, "get")["security"][0]["bearer"].clear(),
    "optional request property added": lambda d: _schema(d, "ThingCreate")["properties"].update(
        size={"type": "integer"}
    ),
    "request property made optional": lambda d: _schema(d, "ThingCreate")["required"].clear(),
    "request length loosened": lambda d: _schema(d, "ThingCreate")["properties"]["name"].update(
        maxLength=200
    ),
    "request enum value added": lambda d: _schema(d, "ThingCreate")["properties"]["kind"][
        "enum"
    ].append("c"),
    "request accepts null": lambda d: _make_nullable(_schema(d, "ThingCreate"), "name"),
    "response property added": lambda d: _schema(d, "ThingRead")["properties"].update(
        size={"type": "integer"}
    ),
    "response enum value removed": lambda d: _schema(d, "Kind")["enum"].remove("b"),
    "response bound tightened": lambda d: _schema(d, "ThingRead")["properties"]["name"].update(
        maxLength=50
    ),
    "response no longer null": lambda d: _schema(d, "ThingRead")["properties"].update(
        note={"type": "string"}
    ),
    "error response added": lambda d: _operation(d, "get")["responses"].update(
        {"429": {"description": "Slow down"}}
    ),
    "error response removed": lambda d: _operation(d, "post")["responses"].pop("422"),
    "descriptions and examples changed": lambda d: _schema(d, "ThingRead").update(
        description="A thing.", examples=[{"id": "x"}]
    ),
    "schema renamed, same shape": _rename_thing_read,
}


@pytest.mark.parametrize(("change", "reported"), BREAKING.values(), ids=BREAKING.keys())
def test_a_breaking_change_is_reported_where_it_is(change: Change, reported: str) -> None:
    breaks = breaking_changes(_contract(), _changed(change))
    assert breaks
    assert any(reported in str(found) for found in breaks), breaks


@pytest.mark.parametrize("change", COMPATIBLE.values(), ids=COMPATIBLE.keys())
def test_a_compatible_change_is_not_reported(change: Change) -> None:
    assert breaking_changes(_contract(), _changed(change)) == []


def test_a_recursive_schema_is_compared_once_through_and_its_changes_found() -> None:
    def tree(name_type: str) -> dict[str, Any]:
        children = {"type": "array", "items": _ref("Node")}
        document = _contract()
        document["components"]["schemas"]["Node"] = {
            "type": "object",
            "properties": {"name": {"type": name_type}, "children": children},
        }
        _operation(document, "get")["responses"]["200"] = {"description": "", **_json(_ref("Node"))}
        return document

    assert breaking_changes(tree("string"), tree("string")) == []
    assert [str(b) for b in breaking_changes(tree("string"), tree("integer"))] == [
        "GET /v1/things response 200.name: type string -> integer"
    ]


def test_a_breaking_change_passes_only_with_a_new_version_and_its_snapshot(
    tmp_path: Path,
) -> None:
    released = _contract()
    compatibility.take_snapshot(released, tmp_path)
    broken = _changed(lambda d: d["paths"]["/v1/things"].pop("post"))
    assert compatibility.breaks_since_snapshot(broken, tmp_path)

    broken["info"]["version"] = "2.0.0"
    with pytest.raises(compatibility.NoSnapshot):
        compatibility.breaks_since_snapshot(broken, tmp_path)
    compatibility.take_snapshot(broken, tmp_path)
    assert compatibility.breaks_since_snapshot(broken, tmp_path) == []
    # The released version's snapshot stays as it was released.
    with pytest.raises(FileExistsError):
        compatibility.take_snapshot(_changed(lambda d: d["paths"].clear()), tmp_path)
    assert compatibility.breaks_since_snapshot(released, tmp_path) == []
