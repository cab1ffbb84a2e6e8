"""The `handover` command line against the real services in-process (its output is not a
terminal here, as in a pipe), and once as the installed command through the real gateway."""

import asyncio
import csv
import io
import json
import os
import pty
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL
from starlette.types import ASGIApp
from typer.testing import CliRunner, Result

from handover_client.cli import Connection, ExitCode, app
from handover_shared.engagements import EngagementRead
from handover_talent.config import Settings as TalentSettings
from handover_talent.main import create_app as create_talent
from handover_tools.stack import Stack
from tests import builders
from tests.conftest import Services, as_service
from tests.identity import SERVICE_SETTINGS

MISSING = "0196f5b4-7d3c-7000-8000-000000000000"
# What the client reads of an engagement (the shared contract): the API may say more.
ENGAGEMENT_FIELDS = list(EngagementRead.model_fields)


def _as_read(engagement: dict[str, Any]) -> dict[str, Any]:
    return {field: engagement[field] for field in ENGAGEMENT_FIELDS}


async def handover(
    apps: dict[str, Any], *args: str, token: str | None, url: str | None = None
) -> Result:
    """Runs the command line in a thread, while the services answer on this event loop."""
    transport = builders.BlockingTransport(builders.gateway(apps), asyncio.get_running_loop())
    connection = Connection(transport=None if url else transport)
    invoke = CliRunner().invoke
    root = ["--url", url] if url else []
    env = {"HANDOVER_API_KEY": token, "HANDOVER_URL": None}
    # The runner swaps sys.stdout for the whole process: the services' log lines, written
    # meanwhile from this thread, would land in the command's output.
    with structlog.testing.capture_logs():
        return await asyncio.to_thread(invoke, app, [*root, *args], obj=connection, env=env)


async def admin(services: Services, *args: str) -> Result:
    return await handover(services.apps, *args, token=services.admin_key)


async def test_list_walks_every_page_as_ndjson_when_not_at_a_terminal(
    services: Services,
) -> None:
    created = [(await builders.create_engagement(services.engagements))["id"] for _ in range(5)]
    result = await admin(services, "engagements", "list", "--page-size", "2")
    assert result.exit_code == ExitCode.OK, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == created
    assert result.stderr == ""  # no progress bar off a terminal


async def test_csv_has_a_header_of_every_field_and_a_row_per_item(services: Services) -> None:
    created = [await builders.create_engagement(services.engagements) for _ in range(3)]
    result = await admin(services, "engagements", "list", "--format", "csv", "--page-size", "2")
    assert result.exit_code == ExitCode.OK, result.stderr
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert reader.fieldnames == ENGAGEMENT_FIELDS
    assert [row["id"] for row in reader] == [engagement["id"] for engagement in created]


async def test_json_is_one_array_and_a_single_resource_one_object(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    listed = await admin(services, "engagements", "list", "-f", "json")
    fetched = await admin(services, "engagements", "get", engagement["id"], "-f", "json")
    assert json.loads(listed.stdout) == [_as_read(engagement)]
    assert json.loads(fetched.stdout) == _as_read(engagement)


async def test_table_lists_the_main_columns_and_shows_one_resource_field_by_field(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements, name="Claims, Manila")
    listed = await admin(services, "engagements", "list", "--format", "table")
    fetched = await admin(services, "engagements", "get", engagement["id"], "--format", "table")
    header, row = listed.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "PHASE", "DELIVERY_MODEL"]
    assert row.split("  ")[0:2] == [engagement["id"], "Claims, Manila"]
    fields = [line.split(maxsplit=1) for line in fetched.stdout.splitlines()]
    # A cell is the value's JSON, strings bare and null empty.
    cells = {None: [], True: ["true"], False: ["false"]}
    assert fields == [
        [field, *cells.get(engagement[field], [str(engagement[field])])]
        for field in ENGAGEMENT_FIELDS
    ]


async def test_limit_stops_after_that_many_items(services: Services) -> None:
    result = await admin(services, "metrics", "list", "--limit", "3", "--page-size", "2")
    keys = [json.loads(line)["key"] for line in result.stdout.splitlines()]
    assert keys == ["attrition_rate", "cost_per_role", "head_count"]


async def test_filters_narrow_the_list(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    other = await builders.create_engagement(services.engagements)
    await admin(services, *_create_requisition(other["id"]))
    created = await admin(services, *_create_requisition(engagement["id"]))
    by_client = await admin(services, "engagements", "list", "--client", engagement["client_id"])
    by_engagement = await admin(
        services, "requisitions", "list", "--engagement", engagement["id"], "--status", "draft"
    )
    opened = await admin(services, "requisitions", "list", "--status", "open")
    assert [json.loads(line)["id"] for line in by_client.stdout.splitlines()] == [engagement["id"]]
    assert by_engagement.stdout == created.stdout
    assert opened.stdout == ""


async def test_requisitions_create_prints_the_new_draft(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    created = await admin(services, *_create_requisition(engagement["id"]), "-f", "json")
    assert created.exit_code == ExitCode.OK, created.stderr
    requisition = json.loads(created.stdout)
    assert (requisition["status"], requisition["headcount"]) == ("draft", 2)
    fetched = await admin(services, "requisitions", "get", requisition["id"], "-f", "json")
    assert json.loads(fetched.stdout) == requisition


async def test_unknown_engagement_prints_the_problem_and_exits_1(services: Services) -> None:
    result = await admin(services, "engagements", "get", MISSING)
    assert result.exit_code == ExitCode.REFUSED
    assert result.stdout == ""
    assert result.stderr == f"Engagement Not Found: There is no engagement {MISSING}.\n"


async def test_validation_problem_prints_each_field_error(services: Services) -> None:
    result = await admin(services, *_create_requisition(MISSING))
    assert result.exit_code == ExitCode.REFUSED
    problem, field = result.stderr.splitlines()
    assert problem == f"Unknown Engagement: There is no engagement {MISSING}."
    assert field == "  body.engagement_id: No such engagement"


async def test_wrong_token_exits_4(services: Services) -> None:
    result = await handover(services.apps, "metrics", "list", token="hov_live_not-a-key")
    assert result.exit_code == ExitCode.DENIED
    assert result.stderr.startswith("Unauthorized: ")


async def test_missing_token_says_where_to_put_one(services: Services) -> None:
    result = await handover(services.apps, "metrics", "list", token=None)
    assert result.exit_code == ExitCode.DENIED
    assert result.stderr.endswith("\nSet HANDOVER_API_KEY, or pass --token.\n")


async def test_key_without_the_scope_exits_4(services: Services) -> None:
    key = await builders.create_api_key(services.engagements, ["talent:read"])
    result = await handover(services.apps, *_create_requisition(MISSING), token=key["key"])
    assert result.exit_code == ExitCode.DENIED
    assert result.stderr.startswith("Forbidden: ")


@pytest.fixture
async def talent_without_engagements(
    services: Services, database_url: URL
) -> AsyncIterator[ASGIApp]:
    """Talent, with the engagements service unreachable for anything but the directory."""
    directory = httpx.ASGITransport(app=services.apps["engagements"])

    async def engagements(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/internal/v1/engagements/"):
            raise httpx.ConnectError("connection refused", request=request)
        return await directory.handle_async_request(request)

    app = create_talent(
        TalentSettings.with_database(as_service(database_url), **SERVICE_SETTINGS),
        transports={"engagements": httpx.MockTransport(engagements)},
    )
    async with LifespanManager(app) as manager:
        yield manager.app


async def test_unavailable_dependency_exits_3_with_the_problem(
    services: Services, talent_without_engagements: ASGIApp
) -> None:
    apps = {**services.apps, "talent": talent_without_engagements}
    result = await handover(apps, *_create_requisition(MISSING), token=services.admin_key)
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert result.stderr.startswith("Dependency Unavailable: ")


async def test_unreachable_api_exits_3(services: Services) -> None:
    result = await handover(
        services.apps, *_create_requisition(MISSING), token="t", url="http://127.0.0.1:9"
    )
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert result.stderr.startswith("Cannot reach http://127.0.0.1:9: ")


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, ExitCode.REFUSED),
        (404, ExitCode.REFUSED),
        (409, ExitCode.REFUSED),
        (401, ExitCode.DENIED),
        (403, ExitCode.DENIED),
        (429, ExitCode.UNAVAILABLE),
        (500, ExitCode.UNAVAILABLE),
        (503, ExitCode.UNAVAILABLE),
    ],
)
def test_exit_code_says_what_kind_of_failure_it_was(status: int, code: ExitCode) -> None:
    problem = {"title": "Some Problem", "status": status, "detail": "What happened."}
    transport = httpx.MockTransport(lambda _: httpx.Response(status, json=problem))
    result = CliRunner().invoke(
        app, _create_requisition(MISSING), obj=Connection(transport=transport)
    )
    assert result.exit_code == code
    assert result.stderr.startswith("Some Problem: What happened.\n")


def test_an_answer_not_from_the_api_exits_3() -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(200, html="<h1>Welcome</h1>"))
    result = CliRunner().invoke(app, ["metrics", "list"], obj=Connection(transport=transport))
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "is --url right?" in result.stderr


def test_malformed_id_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["engagements", "get", "not-an-id"], obj=Connection())
    assert result.exit_code == ExitCode.USAGE


def _create_requisition(engagement_id: str) -> list[str]:
    return [
        "requisitions",
        "create",
        *("--engagement", engagement_id, "--title", "Claims analyst", "--headcount", "2"),
    ]


@pytest.mark.live
def test_installed_command_pipes_data_and_shows_progress_on_a_terminal_past_one_page(
    live: Stack,
) -> None:
    env = {**os.environ, "HANDOVER_URL": live.gateway_url, "HANDOVER_API_KEY": live.admin_key}
    paged, progress = _with_stderr_at_a_terminal(
        ["metrics", "list", "--format", "csv", "--page-size", "2"], env
    )
    rows = list(csv.DictReader(io.StringIO(paged)))
    assert [row["unit"] for row in rows if row["key"] == "time_to_hire"] == ["days"]
    assert len(rows) == 11
    assert "metrics  [" in progress
    assert "]  11" in progress
    one_page, no_progress = _with_stderr_at_a_terminal(["metrics", "list"], env)
    assert [json.loads(line)["key"] for line in one_page.splitlines()] == [
        row["key"] for row in rows
    ]
    assert no_progress == ""


def _with_stderr_at_a_terminal(args: list[str], env: dict[str, str]) -> tuple[str, str]:
    """The installed command's stdout, a pipe, and what it showed on stderr, a terminal."""
    command = [str(Path(sys.executable).with_name("handover")), *args]
    controller, terminal = pty.openpty()
    with os.fdopen(controller, "rb", buffering=0) as screen:
        try:
            finished = subprocess.run(
                command, stdout=subprocess.PIPE, stderr=terminal, env=env, timeout=60, check=True
            )
        finally:
            os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = screen.read(65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    return finished.stdout.decode(), b"".join(chunks).decode()
