"""Structured logs: one JSON object per line, every line tagged with the request id."""

import logging
import sys
from typing import Any, Literal

import structlog
from asgi_correlation_id import correlation_id
from structlog.types import EventDict, Processor, WrappedLogger

access_log = structlog.get_logger("handover.access")


def _add_request_id(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    request_id = correlation_id.get()
    if request_id:
        event_dict.setdefault("request_id", request_id)
    return event_dict


class _Writer(structlog.WriteLogger):
    """structlog's own line writer, named as `add_logger_name` reports it."""

    def __init__(self, name: str) -> None:
        super().__init__(sys.stdout)
        self.name = name


def _writer(*args: Any) -> _Writer:
    return _Writer(str(args[0]) if args else "")


def configure_logging(
    service: str, level: str = "INFO", fmt: Literal["json", "console"] = "json"
) -> None:
    """One renderer for structlog's loggers (ours) and the standard library's (uvicorn,
    sqlalchemy, alembic). Ours write their lines themselves: through `logging`, every line
    (one per request, in the access log) cost several times as much."""

    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    pre_chain: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_service,
        _add_request_id,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        # Plain tracebacks: rich's, the default, print every frame's locals (a secret among
        # them, now and then) and take long enough to stall the event loop.
        else structlog.dev.ConsoleRenderer(
            colors=sys.stdout.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[*pre_chain, structlog.processors.format_exc_info, renderer],
        logger_factory=_writer,
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
