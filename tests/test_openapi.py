import re
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from fastapi import FastAPI, Query
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from handover_kit.errors import DependencyUnavailable, ProblemError, TooManyRequests, Unauthorized
from handover_kit.openapi import problem_openapi
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope
from handover_shared.problems import PROBLEM_MEDIA_TYPE
from handover_tools import openapi
from handover_tools.cli import COMMITTED_OPENAPI
from tests import builders
from tests.conftest import Services, openapi_document

PROBLEM_REF = "#/components/schemas/Problem"
PAGINATION = {"#/components/parameters/Limit", "#/components/parameters/Cursor"}


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    return openapi.merged_document()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _page_schema(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation["responses"].get("200", {}).get("content", {}).get("application/json")
    schema = _resolve(document, content["schema"]) if content else {}
    return schema if "next_cursor" in schema.get("properties", {}) else None


def _examples(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    """Every example in the document, with the pointer to the schema it illustrates."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _examples(item, f"{pointer}/{index}")
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("examples"), list):  # a schema's; elsewhere `examples` is a map
        yield from ((pointer, example) for example in node["examples"])
    if "example" in node and "schema" in node:  # a media type's or a parameter's
        yield f"{pointer}/schema", node["example"]
    for key, value in node.items():
        if key not in ("example", "examples"):
            escaped = key.replace("~", "~0").replace("/", "~1")
            yield from _examples(value, f"{pointer}/{escaped}")


def test_committed_document_is_what_the_code_produces(merged: dict[str, Any]) -> None:
    assert COMMITTED_OPENAPI.read_text() == openapi.render(merged), (
        "deploy/gateway/site/openapi.json is stale: run `python3 dev.py openapi`"
    )


def test_merged_document_is_valid_openapi(merged: dict[str, Any]) -> None:
    validate(merged)


def test_every_operation_is_named_summarised_and_under_one_described_tag(
    merged: dict[str, Any],
) -> None:
    operations = _operations(merged)
    assert operations
    declared = {tag["name"]: tag for tag in merged["tags"]}
    used = set()
    for _, _, operation in operations:
        assert re.fullmatch(r"[a-z][a-z_]*", operation["operationId"])
        assert operation["summary"]
        (tag,) = operation["tags"]
        used.add(tag)
    assert used == set(declared)
    assert all(tag["description"] for tag in declared.values())


def test_every_operation_needs_a_bearer_token_holding_the_scopes_it_names(
    merged: dict[str, Any],
) -> None:
    schemes = merged["components"]["securitySchemes"]
    for method, path, operation in _operations(merged):
        (requirement,) = operation["security"]
        ((scheme, scopes),) = requirement.items()
        assert (schemes[scheme]["type"], schemes[scheme]["scheme"]) == ("http", "bearer")
        assert scopes, (method, path)
        assert set(scopes) <= set(Scope), (method, path)


async def test_every_operation_refuses_a_key_without_the_scopes_it_names(
    services: Services,
) -> None:
    organization = (await builders.create_engagement(services.engagements))["client_id"]
    keys: dict[frozenset[str], str] = {}
    operations = [
        (name, method, path, operation["security"][0]["bearer"])
        for name in services.apps
        for method, path, operation in _operations(openapi_document(name))
    ]
    for service, method, path, scopes in operations:
        if frozenset(scopes) not in keys:
            # An organization's key, so never platform:admin, whether the operation needs it or not.
            lacking = [str(s) for s in Scope if s not in {*scopes, Scope.PLATFORM_ADMIN}]
            key = await builders.create_api_key(services.engagements, lacking, organization)
            keys[frozenset(scopes)] = key["key"]
        client = getattr(await services.acting_as(keys[frozenset(scopes)]), service)
        response = await client.request(method, re.sub(r"\{\w+\}", str(uuid4()), path))
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["missing_scopes"] == scopes, (method, path)


def test_every_parameter_is_described(merged: dict[str, Any]) -> None:
    parameters = [
        _resolve(merged, parameter)
        for _, _, operation in _operations(merged)
        for parameter in operation.get("parameters", [])
    ]
    assert parameters
    for parameter in parameters:
        assert parameter["description"], parameter["name"]


def test_every_list_takes_the_shared_pagination_parameters_and_answers_one_page_shape(
    merged: dict[str, Any],
) -> None:
    pages = {}
    for method, path, operation in _operations(merged):
        page = _page_schema(merged, operation)
        shared = {p["$ref"] for p in operation.get("parameters", []) if "$ref" in p}
        inline = {p["name"] for p in operation.get("parameters", []) if "name" in p}
        assert not inline & {"limit", "cursor"}, (method, path)
        assert (page is not None) == (shared >= PAGINATION), (method, path)
        if page is not None:
            pages[operation["operationId"]] = page
    assert len(pages) > 1
    shapes = {
        (tuple(page["required"]), repr(page["properties"]["next_cursor"]))
        for page in pages.values()
    }
    assert len(shapes) == 1
    ((required, _),) = shapes
    assert required == ("items", "next_cursor")


def test_every_request_body_and_success_answer_has_an_example(merged: dict[str, Any]) -> None:
    checked = 0
    for method, path, operation in _operations(merged):
        bodies = [operation.get("requestBody", {})] + [
            response for status, response in operation["responses"].items() if status < "300"
        ]
        for media in (m for body in bodies for m in body.get("content", {}).values()):
            checked += 1
            assert "example" in media or _resolve(merged, media["schema"]).get("examples"), (
                method,
                path,
            )
    assert checked > len(_operations(merged))


def test_every_example_is_valid_against_the_schema_it_illustrates(merged: dict[str, Any]) -> None:
    uri = "urn:handover:openapi"
    registry: Registry[Any] = Registry().with_resource(
        uri, Resource.from_contents(merged, default_specification=DRAFT202012)
    )
    examples = list(_examples(merged))
    assert len(examples) > len(merged["components"]["schemas"])
    for pointer, example in examples:
        validator = OAS31Validator(
            {"$ref": f"{uri}#{pointer}"},
            registry=registry,
            format_checker=OAS31Validator.FORMAT_CHECKER,
        )
        errors = [error.message for error in validator.iter_errors(example)]
        assert not errors, (pointer, errors)


def test_every_error_response_is_a_problem_document_described_once(
    merged: dict[str, Any],
) -> None:
    errors = [
        (status, response)
        for _, _, operation in _operations(merged)
        for status, response in operation["responses"].items()
        if status >= "400"
    ]
    assert errors
    for status, response in errors:
        assert response.get("$ref", "").startswith("#/components/responses/"), status
        ((media_type, media),) = _resolve(merged, response)["content"].items()
        assert (media_type, media["schema"]) == (PROBLEM_MEDIA_TYPE, {"$ref": PROBLEM_REF})
        assert media["example"]["status"] == int(status)


def test_every_operation_lists_the_errors_any_request_to_it_can_meet(
    merged: dict[str, Any],
) -> None:
    for method, path, operation in _operations(merged):
        expected = {"401", "403", "429", "500", "503"}
        if operation.get("parameters") or "requestBody" in operation:
            expected.add("422")
        if "requestBody" in operation:
            expected.add("413")
        if "{" in path:
            expected.add("404")
        assert expected <= set(operation["responses"]), (method, path)


@pytest.mark.parametrize(
    "error",
    [
        Unauthorized("No token."),
        TooManyRequests(retry_after=3),
        DependencyUnavailable("Down.", dependency="database"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_the_headers_an_error_is_sent_with_are_documented(
    merged: dict[str, Any], error: ProblemError
) -> None:
    documented = {
        operation["responses"][str(error.status)]["$ref"]
        for _, _, operation in _operations(merged)
        if str(error.status) in operation["responses"]
    }
    assert len(documented) == 1
    response = _resolve(merged, {"$ref": documented.pop()})
    assert set(error.headers or {}) <= set(response.get("headers", {}))


def test_every_answer_documents_its_request_id_and_every_creation_its_location(
    merged: dict[str, Any],
) -> None:
    for method, path, operation in _operations(merged):
        for status, response in operation["responses"].items():
            headers = _resolve(merged, response).get("headers", {})
            assert "X-Request-ID" in headers, (method, path, status)
            assert ("Location" in headers) == (status == "201"), (method, path, status)


def test_schema_names_are_meaningful_and_every_component_is_used(merged: dict[str, Any]) -> None:
    for name in merged["components"]["schemas"]:
        # Not FastAPI's made-up names: `Body_create_x_post`, `X-Input`, `X-Output`.
        assert re.fullmatch(r"[A-Z][A-Za-z]*", name), name
    refs = set(re.findall(r'"\$ref": "([^"]+)"', openapi.render(merged)))
    for kind in ("schemas", "parameters", "responses", "headers"):
        for name in merged["components"][kind]:
            assert f"#/components/{kind}/{name}" in refs, (kind, name)


def test_limit_and_cursor_are_refused_to_anything_but_page_params() -> None:
    app = FastAPI()

    @app.get("/pages")
    async def pages(page: PageParams) -> None:
        del page

    @app.get("/other")
    async def other(limit: int = Query(3, description="Something else")) -> None:
        del limit

    with pytest.raises(ValueError, match="limit"):
        problem_openapi(app)


def _document(path: str, schema: dict[str, Any], operation_id: str = "op") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "paths": {path: {"get": {"operationId": operation_id}}},
        "components": {"schemas": {"Thing": schema}},
    }


def test_merge_refuses_two_services_serving_one_path() -> None:
    with pytest.raises(openapi.MergeConflict, match="/v1/things"):
        openapi.merge(
            {"a": _document("/v1/things", {}, "a"), "b": _document("/v1/things", {}, "b")}
        )


def test_merge_refuses_a_schema_name_that_means_two_things() -> None:
    with pytest.raises(openapi.MergeConflict, match="Thing"):
        openapi.merge(
            {
                "a": _document("/v1/a", {"type": "string"}, "a"),
                "b": _document("/v1/b", {"type": "integer"}, "b"),
            }
        )


def test_merge_refuses_a_reused_operation_id() -> None:
    with pytest.raises(openapi.MergeConflict, match="operationId"):
        openapi.merge({"a": _document("/v1/a", {}), "b": _document("/v1/b", {})})


def test_a_tag_every_service_has_is_listed_once_and_a_conflicting_one_is_refused() -> None:
    shared = {"name": "operations", "description": "Running the platform."}
    a = {**_document("/v1/a", {}, "a"), "tags": [shared, {"name": "a", "description": "A."}]}
    b = {**_document("/v1/b", {}, "b"), "tags": [shared]}
    assert openapi.merge({"a": a, "b": b})["tags"] == [
        shared,
        {"name": "a", "description": "A.", "x-service": "a"},
    ]
    other = {**b, "tags": [{"name": "operations", "description": "Something else."}]}
    with pytest.raises(openapi.MergeConflict, match="tag operations"):
        openapi.merge({"a": a, "b": other})


def test_merge_keeps_every_kind_of_component_and_refuses_one_that_means_two_things() -> None:
    scheme = {"type": "http", "scheme": "bearer"}
    a = {**_document("/v1/a", {}, "a"), "components": {"securitySchemes": {"bearer": scheme}}}
    b = {**_document("/v1/b", {}, "b"), "components": {"parameters": {"Limit": {"name": "limit"}}}}
    assert openapi.merge({"a": a, "b": b})["components"] == {
        "parameters": {"Limit": {"name": "limit"}},
        "securitySchemes": {"bearer": scheme},
    }
    other = {**b, "components": {"securitySchemes": {"bearer": {"type": "apiKey"}}}}
    with pytest.raises(openapi.MergeConflict, match="securitySchemes bearer"):
        openapi.merge({"a": a, "b": other})
