from typing import Any

import pytest
from openapi_spec_validator import validate

from handover_tools import openapi
from handover_tools.cli import COMMITTED_OPENAPI


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    return openapi.merged_document()


def test_committed_document_is_what_the_code_produces(merged: dict[str, Any]) -> None:
    assert COMMITTED_OPENAPI.read_text() == openapi.render(merged), (
        "deploy/gateway/site/openapi.json is stale: run `python3 dev.py openapi`"
    )


def test_merged_document_is_valid_openapi(merged: dict[str, Any]) -> None:
    validate(merged)


def test_every_operation_is_named_tagged_and_summarised(merged: dict[str, Any]) -> None:
    operations = [op for item in merged["paths"].values() for op in item.values()]
    assert operations
    for operation in operations:
        assert operation["operationId"]
        assert operation["tags"]
        assert operation["summary"]


def test_every_error_response_is_a_problem_document(merged: dict[str, Any]) -> None:
    errors = [
        response
        for item in merged["paths"].values()
        for operation in item.values()
        for status, response in operation["responses"].items()
        if status >= "400"
    ]
    assert errors
    for response in errors:
        assert list(response["content"]) == ["application/problem+json"]


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
