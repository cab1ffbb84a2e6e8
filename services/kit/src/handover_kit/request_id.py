"""The request id: taken from `X-Request-ID` or minted, returned, logged and passed on."""

import re
from uuid import uuid4

import httpx
from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from fastapi import FastAPI

REQUEST_ID_HEADER = "X-Request-ID"

# Callers choose their own ids; anything that could smuggle text into logs is replaced.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _acceptable(value: str) -> bool:
    return _ACCEPTABLE.fullmatch(value) is not None


def add_request_id_middleware(app: FastAPI) -> None:
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name=REQUEST_ID_HEADER,
        update_request_header=True,
        generator=lambda: uuid4().hex,
        validator=_acceptable,
    )


async def pass_request_id_on(request: httpx.Request) -> None:
    """httpx event hook: outgoing calls carry the id of the request that caused them."""
    request_id = correlation_id.get()
    if request_id:
        request.headers[REQUEST_ID_HEADER] = request_id
