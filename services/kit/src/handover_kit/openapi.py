"""The service's OpenAPI document, finished where FastAPI stops.

- Every error is a problem document. Each status is described once, under
  `components/responses`, and operations refer to it. The answers the kit gives on any
  operation (authentication, scopes, rate limit, validation, body size, an unreachable
  dependency, a failure) are listed on every operation that can get them.
- The pagination parameters are described once, under `components/parameters`.
- An operation's security requirement lists the scopes its `require(...)` checks.
- Every answer documents its `X-Request-ID` header, and every 201 its `Location`.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from handover_kit.auth import RequiredScopes
from handover_kit.concurrency import IF_MATCH_HEADER, PreconditionRequired, StaleVersion
from handover_kit.errors import (
    Conflict,
    ContentTooLarge,
    DependencyUnavailable,
    Forbidden,
    NotFound,
    ProblemError,
    TooManyRequests,
    Unauthorized,
    UnprocessableContent,
)
from handover_kit.request_id import REQUEST_ID_HEADER
from handover_shared.problems import PROBLEM_MEDIA_TYPE, FieldError, Problem

_PROBLEM_REF = "#/components/schemas/Problem"
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_EXAMPLE_PATH = "/v1/requisitions"
# Response headers, described once under `components/headers`.
HEADERS: dict[str, dict[str, Any]] = {
    "RequestId": {
        "description": "The request's id: the caller's `X-Request-ID` if it was acceptable, "
        "else one minted for it. Logs of every service the request reached carry it.",
        "schema": {"type": "string", "examples": ["01a1f3c2-5b7e-7c1d-9f00-2d4c6b8a0e11"]},
    },
    "Location": {
        "description": "The path of the resource just created.",
        "schema": {
            "type": "string",
            "examples": ["/v1/requisitions/01a1f3c2-5b7e-7c1d-9f00-2d4c6b8a0e11"],
        },
    },
}
_REQUEST_ID = {REQUEST_ID_HEADER: {"$ref": "#/components/headers/RequestId"}}
_LOCATION = {"Location": {"$ref": "#/components/headers/Location"}}
_RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 1},
}


@dataclass(frozen=True)
class ErrorResponse:
    name: str
    description: str
    example: ProblemError
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def component(self) -> dict[str, Any]:
        example = self.example.problem(_EXAMPLE_PATH).to_content()
        response: dict[str, Any] = {
            "description": self.description,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}, "example": example}},
        }
        response["headers"] = {**_REQUEST_ID, **self.headers}
        return response


ERROR_RESPONSES: dict[int, ErrorResponse] = {
    HTTPStatus.UNAUTHORIZED: ErrorResponse(
        "Unauthorized",
        "No bearer token, or one that is not valid (unknown, revoked, expired, or for another "
        "audience).",
        Unauthorized("The API key is not valid: unknown, or revoked."),
        {
            "WWW-Authenticate": {
                "description": "The scheme to authenticate with.",
                "schema": {"type": "string", "examples": ['Bearer realm="handover"']},
            }
        },
    ),
    HTTPStatus.FORBIDDEN: ErrorResponse(
        "Forbidden",
        "The credentials lack a scope the operation needs (listed in `missing_scopes`), or the "
        "person is not a member of any organization.",
        Forbidden(
            "This needs the scope talent:write, which your credentials lack.",
            missing_scopes=["talent:write"],
        ),
    ),
    HTTPStatus.NOT_FOUND: ErrorResponse(
        "NotFound",
        "There is no such resource, or the caller may not see it: both are answered alike.",
        NotFound("There is no requisition 01936f10-4c1e-7a93-b2d8-9e7f1a6c5b30."),
    ),
    HTTPStatus.CONFLICT: ErrorResponse(
        "Conflict",
        "The request contradicts what exists, such as a name that is taken.",
        Conflict("An organization named Acme Health exists already."),
    ),
    HTTPStatus.PRECONDITION_FAILED: ErrorResponse(
        "PreconditionFailed",
        "The resource changed since the `ETag` sent in `If-Match` was read; `current_etag` is "
        "its version now. Read it again, and retry the change on that.",
        StaleVersion(
            'The resource changed since you read it: it is at ETag "4", your If-Match was "3". '
            "Read it again and retry.",
            current_etag='"4"',
        ),
        {"ETag": {"description": "The current version.", "schema": {"type": "string"}}},
    ),
    HTTPStatus.PRECONDITION_REQUIRED: ErrorResponse(
        "PreconditionRequired",
        "A change needs `If-Match` with the `ETag` of the version it is based on.",
        PreconditionRequired(
            'If-Match required: send the ETag of the version you read, e.g. If-Match: "3".'
        ),
    ),
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: ErrorResponse(
        "ContentTooLarge",
        "The request body is larger than the service accepts.",
        ContentTooLarge("Request bodies are limited to 1048576 bytes."),
    ),
    HTTPStatus.UNPROCESSABLE_ENTITY: ErrorResponse(
        "ValidationFailed",
        "The input is not valid; `errors` locates each invalid field.",
        UnprocessableContent(
            "The request has 1 invalid field(s).",
            errors=[FieldError(loc=["body", "headcount"], msg="Field required", type="missing")],
        ),
    ),
    HTTPStatus.TOO_MANY_REQUESTS: ErrorResponse(
        "TooManyRequests",
        "The caller's rate limit is reached.",
        TooManyRequests(retry_after=12),
        {"Retry-After": _RETRY_AFTER},
    ),
    HTTPStatus.INTERNAL_SERVER_ERROR: ErrorResponse(
        "InternalServerError",
        "The service failed; quote the `X-Request-ID` response header when reporting it.",
        ProblemError(
            "The server failed to answer this request. Quote the request id when reporting it."
        ),
    ),
    HTTPStatus.SERVICE_UNAVAILABLE: ErrorResponse(
        "ServiceUnavailable",
        "Something the service needs (its database, another service, the identity provider) "
        "did not answer; `dependency` names it. Trying again later is safe.",
        DependencyUnavailable(
            "The database is unreachable; try again shortly.", dependency="database"
        ),
        {"Retry-After": _RETRY_AFTER},
    ),
}

PAGE_PARAMETERS = {"limit": "Limit", "cursor": "Cursor"}
"""The query parameters of `PageParams`, by the names they are described under."""


def problem_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["Problem"].pop("$defs", None)
    schemas["FieldError"] = FieldError.model_json_schema()
    for name, examples in _model_examples(app).items():
        if name in schemas:
            schemas[name]["examples"] = examples
    scopes = _scopes_by_operation(app)
    parameters: dict[str, Any] = {}
    responses: dict[str, Any] = {}
    for operation in _operations(document):
        if "security" in operation:
            required = scopes.get(operation["operationId"], [])
            operation["security"] = [
                dict.fromkeys(requirement, required) for requirement in operation["security"]
            ]
        if "parameters" in operation:
            operation["parameters"] = [
                _shared_parameter(_header(parameter), parameters)
                for parameter in operation["parameters"]
            ]
        _document_errors(operation, responses)
        _document_success_headers(operation)
    if parameters:
        components["parameters"] = dict(sorted(parameters.items()))
    components["responses"] = dict(sorted(responses.items()))
    components["headers"] = HEADERS
    app.openapi_schema = document
    return document


def _operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path_item in document.get("paths", {}).values():
        yield from path_item.values()


def _scopes_by_operation(app: FastAPI) -> dict[str, list[str]]:
    scopes: dict[str, list[str]] = {}
    # Route contexts, as FastAPI documents them: with the dependencies of the routers they are in.
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            required = scopes.setdefault(route.operation_id or route.unique_id, [])
            for dependant in _dependencies(route.dependant):
                if isinstance(dependant.call, RequiredScopes):
                    required.extend(s for s in dependant.call.scopes if s not in required)
    return scopes


def _model_examples(app: FastAPI) -> dict[str, list[Any]]:
    """The examples of the models that operations take and answer, by schema name. FastAPI drops
    every null from the document, and so from examples, which their schemas then refuse."""
    examples: dict[str, list[Any]] = {}
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        bodies = [parameter.field_info.annotation for parameter in route.dependant.body_params]
        for model in (route.response_model, *bodies):
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                continue
            for mode in ("validation", "serialization"):
                schema = model.model_json_schema(mode=mode)
                for name, named in {model.__name__: schema, **schema.get("$defs", {})}.items():
                    if "examples" in named:
                        examples[name] = named["examples"]
    return examples


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _shared_parameter(parameter: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    """`limit` and `cursor` in a query are always `PageParams`: refer to their one description."""
    if parameter["in"] != "query" or parameter["name"] not in PAGE_PARAMETERS:
        return parameter
    name = PAGE_PARAMETERS[parameter["name"]]
    definition = {**parameter, "schema": _never_null(parameter["schema"])}
    if shared.setdefault(name, definition) != definition:
        raise ValueError(f"The query parameter {parameter['name']} is PageParams' alone.")
    return {"$ref": f"#/components/parameters/{name}"}


def _header(parameter: dict[str, Any]) -> dict[str, Any]:
    """A header is sent with a value or not at all: never null. `If-Match` is required where it
    is taken; the handler's dependency answers 428 without it (see `concurrency.py`)."""
    if parameter["in"] != "header":
        return parameter
    documented = {**parameter, "schema": _never_null(parameter["schema"])}
    if parameter["name"] == IF_MATCH_HEADER:
        documented["required"] = True
    return documented


def _never_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter is left out or has a value: it is never null. The parameter
    carries the description, and a title is noise."""
    kept = {key: value for key, value in schema.items() if key not in ("title", "description")}
    alternatives = [option for option in kept.pop("anyOf", []) if option != {"type": "null"}]
    if len(alternatives) == 1:
        return {**alternatives[0], **kept}
    return {**kept, "anyOf": alternatives} if alternatives else kept


def _kit_answers(operation: dict[str, Any]) -> set[int]:
    """The errors an operation can get from the kit, whatever its handler does."""
    answers: set[int] = {HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.SERVICE_UNAVAILABLE}
    if "security" in operation:
        answers |= {HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.TOO_MANY_REQUESTS}
    if operation.get("parameters") or "requestBody" in operation:
        answers.add(HTTPStatus.UNPROCESSABLE_ENTITY)
    if "requestBody" in operation:
        answers.add(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    return answers


def _document_errors(operation: dict[str, Any], shared: dict[str, Any]) -> None:
    answers = operation["responses"]
    declared = {int(status) for status in answers if status.startswith(("4", "5"))}
    for status in declared | _kit_answers(operation):
        error = ERROR_RESPONSES.get(status)
        if error is None:
            answers[str(status)] = {
                "description": HTTPStatus(status).phrase,
                "headers": _REQUEST_ID,
                "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}},
            }
            continue
        shared[error.name] = error.component()
        answers[str(status)] = {"$ref": f"#/components/responses/{error.name}"}
    operation["responses"] = dict(sorted(answers.items()))


def _document_success_headers(operation: dict[str, Any]) -> None:
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            created = _LOCATION if status == str(HTTPStatus.CREATED) else {}
            response["headers"] = {**response.get("headers", {}), **_REQUEST_ID, **created}
