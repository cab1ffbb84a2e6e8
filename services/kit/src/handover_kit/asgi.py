"""The kit's own ASGI middleware."""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handover_kit.auth import principal_id
from handover_kit.logging import access_log
from handover_kit.metrics import Metrics, request_labels


class StatusRecorder:
    """A `send` that remembers the response's status: 500 until one is sent, which is what
    the client sees when the app fails first."""

    def __init__(self, send: Send) -> None:
        self.status = 500
        self._send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)


class RequestRecords:
    """Every HTTP request, once it has ended, however it ended: counted and timed in the metrics
    by method, route template and status, and one access-log line with method, path, status,
    duration and who asked (a principal's id, never its credential; never query strings or
    bodies). One layer times both: each layer costs every request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        recorder = StatusRecorder(send)
        try:
            await self.app(scope, receive, recorder)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.record_request(request_labels(scope, recorder.status), seconds)
            access_log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=recorder.status,
                principal=principal_id(scope),
                duration_ms=round(seconds * 1000, 2),
            )
