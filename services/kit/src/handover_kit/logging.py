"""Structured logs: one JSON object per line, every line tagged with the request id."""

import logging
import sys
from collections.abc import Callable
from typing import Any, Literal

import orjson
import structlog
from asgi_correlation_id import correlation_id
from structlog.types import EventDict, Processor, WrappedLogger

access_log = structlog.get_logger("handover.access")


def _add_request_id(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    request_id = correlation_id.get()
    if request_id:
        event_dict.setdefault("request_id", request_id)
    return event_dict


# Keys that are not strings (a UUID, say) are written as text, as values are.
_JSON = orjson.OPT_NON_STR_KEYS


def _json_text(event_dict: EventDict, **options: Any) -> str:
    """orjson's encoding as text, which the standard library's handler writes."""
    return orjson.dumps(event_dict, **options).decode()


class _Writer(structlog.WriteLogger):
    """structlog's own line writer for the console, named as `add_logger_name` reports it."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(sys.stdout)
        self.name = name


def configure_logging(
    service: str, level: str = "INFO", fmt: Literal["json", "console"] = "json"
) -> None:
    """One format for structlog's loggers (ours) and the standard library's (uvicorn,
    sqlalchemy, alembic). Ours write their lines themselves: through `logging`, every line
    (one per request, in the access log) cost several times as much. In JSON, orjson encodes
    every line and ours are written as bytes, as structlog advises for speed: the access line
    is about a tenth of a webhook delivery's CPU."""

    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    pre_chain: list[Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_service,
        _add_request_id,
    ]
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(serializer=_json_text, option=_JSON)
        ours: Processor = structlog.processors.JSONRenderer(serializer=orjson.dumps, option=_JSON)
        factory: Callable[..., object] = structlog.BytesLoggerFactory()
    else:
        # Plain tracebacks: rich's, the default, print every frame's locals (a secret among
        # them, now and then) and take long enough to stall the event loop.
        renderer = ours = structlog.dev.ConsoleRenderer(
            colors=sys.stdout.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
        factory = _Writer
    structlog.configure(
        processors=[*pre_chain, structlog.processors.format_exc_info, ours],
        logger_factory=factory,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # The access log's line carries the request id; uvicorn's would not.
    logging.getLogger("uvicorn.access").disabled = True
    # One line per upstream call is noise at INFO; failures are logged where they are handled.
    logging.getLogger("httpx").setLevel(logging.WARNING)
