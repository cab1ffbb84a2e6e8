"""Small pieces for the kit's pure ASGI middleware."""

from starlette.types import Message, Send


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
