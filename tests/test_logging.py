import json
import subprocess
import sys
import textwrap

# In a process of its own: the configuration is global, and the tests' own loggers keep theirs.
SCRIPT = textwrap.dedent(
    """
    import logging, uuid
    import structlog
    from asgi_correlation_id import correlation_id
    from handover_kit.logging import access_log, configure_logging

    configure_logging("talent")
    correlation_id.set("req-1")
    access_log.info("request", method="POST", status=202, principal=None, duration_ms=0.5)
    logging.getLogger("uvicorn.error").info("started %s", "server")
    structlog.get_logger("handover.jobs").warning("odd", ids={uuid.UUID(int=1): 2}, when=object)
    logging.getLogger("sqlalchemy").warning("pool %s", "full")
    """
)


def test_our_lines_and_the_standard_librarys_are_each_one_json_object_in_order() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["logger"], line["event"]) for line in lines] == [
        ("handover.access", "request"),
        ("uvicorn.error", "started server"),
        ("handover.jobs", "odd"),
        ("sqlalchemy", "pool full"),
    ]
    assert all(line["service"] == "talent" and line["request_id"] == "req-1" for line in lines)
    assert lines[0] | {"timestamp": None} == {
        "event": "request",
        "method": "POST",
        "status": 202,
        "principal": None,
        "duration_ms": 0.5,
        "level": "info",
        "logger": "handover.access",
        "service": "talent",
        "request_id": "req-1",
        "timestamp": None,
    }
    # What JSON cannot hold as it is is written as text, not dropped.
    assert lines[2]["ids"] == {"00000000-0000-0000-0000-000000000001": 2}
    assert lines[2]["when"] == repr(object)
