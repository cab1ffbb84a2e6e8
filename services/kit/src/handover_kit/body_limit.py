"""A cap on request bodies, enforced before a handler reads more than the cap.

A declared `Content-Length` over the cap is refused at once; a chunked body is counted as it
arrives and refused when it passes the cap. A few paths (bulk uploads, which stream what they
read) may have a cap of their own.
"""

from collections.abc import Mapping
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handover_kit.errors import ContentTooLarge, problem_response


class BodySizeLimit:
    def __init__(
        self, app: ASGIApp, max_bytes: int, path_limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.path_limits.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            problem = ContentTooLarge(self._detail(max_bytes)).problem(scope["path"])
            await problem_response(problem)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # An HTTPException, which FastAPI lets through its body parsing untouched.
                    raise HTTPException(
                        HTTPStatus.REQUEST_ENTITY_TOO_LARGE, self._detail(max_bytes)
                    )
            return message

        await self.app(scope, counting_receive, send)

    @staticmethod
    def _detail(max_bytes: int) -> str:
        return f"Request bodies are limited to {max_bytes} bytes."
