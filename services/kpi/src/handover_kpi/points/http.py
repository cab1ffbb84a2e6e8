"""Conditional reads: an `ETag` on every read, and 304 when `If-None-Match` still holds it."""

import hashlib
from http import HTTPStatus

from fastapi import Request, Response
from pydantic import BaseModel

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
