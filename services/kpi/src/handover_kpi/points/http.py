"""Conditional reads: an `ETag` on every read, and 304 when `If-None-Match` still holds it."""

import hashlib
import re
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import Request, Response
from pydantic import AwareDatetime, BaseModel, BeforeValidator

from handover_kit.request_id import REQUEST_ID_HEADER

ETAG = "ETag"
IF_NONE_MATCH = "If-None-Match"
JSON = "application/json"


def conditional(request: Request, body: BaseModel) -> Response:
    """The body as JSON with a strong `ETag` drawn from its bytes, or an empty 304 if the
    caller already holds that tag: a poll that finds nothing new costs no transfer."""
    content = body.model_dump_json().encode()
    tag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
    headers = {ETAG: tag, "Cache-Control": "private, no-cache"}
    held = request.headers.get(IF_NONE_MATCH)
    if held is not None and (held.strip() == "*" or tag in _tags(held)):
        return Response(status_code=HTTPStatus.NOT_MODIFIED, headers=headers)
    return Response(content, media_type=JSON, headers=headers)


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


_ETAG_HEADER = {
    "description": "The version of this answer, to send back in `If-None-Match`.",
    "schema": {"type": "string", "examples": ['"5e8c1a0f3b2d4e6f8a9b0c1d2e3f4a5b"']},
}


def conditional_responses(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answers of a conditional read: the body with its `ETag`, or 304."""
    return {
        200: {"model": model, "headers": {ETAG: _ETAG_HEADER}},
        304: {
            "description": "Not Modified: the `ETag` in `If-None-Match` is still current.",
            "headers": {
                ETAG: _ETAG_HEADER,
                REQUEST_ID_HEADER: {"$ref": "#/components/headers/RequestId"},
            },
        },
    }


_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def _iso_only(value: object) -> object:
    # Pydantic would read a bare number as seconds since 1970; the contract says ISO 8601.
    if isinstance(value, str) and _NUMBER.match(value):
        raise ValueError("an ISO 8601 timestamp with a UTC offset, such as 2026-01-01T00:00:00Z")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
"""A query parameter's instant: ISO 8601 with a UTC offset, never a bare number."""
