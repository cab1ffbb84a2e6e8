"""The `handover` command line: data on stdout, messages on stderr, and an exit code a script
can act on (`ExitCode`)."""

import itertools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Annotated, NoReturn
from uuid import UUID

import httpx
import typer
from pydantic import BaseModel, ValidationError

from handover_client._client import DEFAULT_URL, Client
from handover_client._errors import ProblemError, describe
from handover_client._models import (
    DeliveryModel,
    EngagementRead,
    MetricRead,
    OrganizationKind,
    OrganizationRead,
    Phase,
    RequisitionRead,
    RequisitionStatus,
)
from handover_client._output import Format, chosen, with_progress, write_item, write_items


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    """The API refused the request (a 4xx problem): it will not work as it is."""
    USAGE = 2
    """The command line is wrong; nothing was sent."""
    UNAVAILABLE = 3
    """No usable answer: 429 or 5xx after retries, a network error, or not the API at the URL.
    The same command may work later."""
    DENIED = 4
    """401 or 403: the credential is missing, wrong, or does not allow this."""


@dataclass
class Connection:
    """Where the API is and who asks; the root options fill it in. Passed as `obj` with a
    transport, it runs every command against that transport (in-process services, say)."""

    url: str = DEFAULT_URL
    token: str | None = None
    transport: httpx.BaseTransport | None = None


app = typer.Typer(
    no_args_is_help=True,
    help="The Handover API from the command line.",
    epilog="Exit codes: 0 done; 1 the API refused the request; 2 usage error; "
    "3 API unavailable, try later; 4 not authenticated or not allowed.",
)
organizations = typer.Typer(no_args_is_help=True, help="Clients and partners.")
engagements = typer.Typer(no_args_is_help=True, help="Who builds a team for whom, and its phase.")
requisitions = typer.Typer(no_args_is_help=True, help="Roles to hire for an engagement's team.")
metrics = typer.Typer(no_args_is_help=True, help="The KPI catalog.")
kpi = typer.Typer(no_args_is_help=True, help="KPI data points: send files of them, export them.")
app.add_typer(organizations, name="organizations")
app.add_typer(engagements, name="engagements")
app.add_typer(requisitions, name="requisitions")
app.add_typer(metrics, name="metrics")
app.add_typer(kpi, name="kpi")


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option(envvar="HANDOVER_URL", help="The gateway's base URL.")
    ] = DEFAULT_URL,
    token: Annotated[
        str | None,
        typer.Option(envvar="HANDOVER_API_KEY", help="An API key or an OIDC access token."),
    ] = None,
) -> None:
    connection = ctx.ensure_object(Connection)
    connection.url, connection.token = url, token


FormatOption = Annotated[
    Format | None,
    typer.Option(
        "--format", "-f", help="Default: table on a terminal, ndjson otherwise.", show_default=False
    ),
]
LimitOption = Annotated[
    int | None, typer.Option(min=1, help="Stop after this many items.", show_default="all")
]
PageSizeOption = Annotated[int, typer.Option(min=1, max=200, help="Items per request.")]

PAGE_SIZE = 100


@dataclass(frozen=True)
class View:
    """How one kind of resource is listed: a table shows `columns`; other formats every field."""

    label: str
    model: type[BaseModel]
    columns: tuple[str, ...]


ORGANIZATIONS = View("organizations", OrganizationRead, ("id", "name", "kind"))
ENGAGEMENTS = View("engagements", EngagementRead, ("id", "name", "phase", "delivery_model"))
REQUISITIONS = View(
    "requisitions", RequisitionRead, ("id", "title", "headcount", "status", "engagement_id")
)
METRICS = View("metrics", MetricRead, ("key", "name", "unit", "aggregation", "direction"))


@organizations.command("list")
def list_organizations(
    ctx: typer.Context,
    kind: Annotated[OrganizationKind | None, typer.Option(help="Only this kind.")] = None,
    limit: LimitOption = None,
    page_size: PageSizeOption = PAGE_SIZE,
    fmt: FormatOption = None,
) -> None:
    """The organizations you may see, oldest first."""
    with _client(ctx) as client:
        _write_all(
            ORGANIZATIONS,
            lambda size: client.iter_organizations(kind=kind, page_size=size),
            limit=limit,
            page_size=page_size,
            fmt=fmt,
        )


@organizations.command("get")
def get_organization(ctx: typer.Context, organization_id: UUID, fmt: FormatOption = None) -> None:
    """One organization, every field."""
    with _client(ctx) as client:
        write_item(client.get_organization(organization_id), chosen(fmt), out=sys.stdout)


@engagements.command("list")
def list_engagements(
    ctx: typer.Context,
    client_id: Annotated[
        UUID | None, typer.Option("--client", help="Only those for this client.")
    ] = None,
    partner_id: Annotated[
        UUID | None, typer.Option("--partner", help="Only those run by this partner.")
    ] = None,
    phase: Annotated[Phase | None, typer.Option(help="Only those in this phase.")] = None,
    delivery_model: Annotated[
        DeliveryModel | None, typer.Option(help="Only those of this model.")
    ] = None,
    limit: LimitOption = None,
    page_size: PageSizeOption = PAGE_SIZE,
    fmt: FormatOption = None,
) -> None:
    """The engagements you may see, oldest first."""
    with _client(ctx) as client:
        _write_all(
            ENGAGEMENTS,
            lambda size: client.iter_engagements(
                client_id=client_id,
                partner_id=partner_id,
                phase=phase,
                delivery_model=delivery_model,
                page_size=size,
            ),
            limit=limit,
            page_size=page_size,
            fmt=fmt,
        )


@engagements.command("get")
def get_engagement(ctx: typer.Context, engagement_id: UUID, fmt: FormatOption = None) -> None:
    """One engagement, every field."""
    with _client(ctx) as client:
        write_item(client.get_engagement(engagement_id), chosen(fmt), out=sys.stdout)


@requisitions.command("list")
def list_requisitions(
    ctx: typer.Context,
    engagement_id: Annotated[
        UUID | None, typer.Option("--engagement", help="Only this engagement's.")
    ] = None,
    status: Annotated[
        RequisitionStatus | None, typer.Option(help="Only those in this status.")
    ] = None,
    limit: LimitOption = None,
    page_size: PageSizeOption = PAGE_SIZE,
    fmt: FormatOption = None,
) -> None:
    """The requisitions you may see, oldest first."""
    with _client(ctx) as client:
        _write_all(
            REQUISITIONS,
            lambda size: client.iter_requisitions(
                engagement_id=engagement_id, status=status, page_size=size
            ),
            limit=limit,
            page_size=page_size,
            fmt=fmt,
        )


@requisitions.command("get")
def get_requisition(ctx: typer.Context, requisition_id: UUID, fmt: FormatOption = None) -> None:
    """One requisition, every field."""
    with _client(ctx) as client:
        write_item(client.get_requisition(requisition_id), chosen(fmt), out=sys.stdout)


@requisitions.command("create")
def create_requisition(
    ctx: typer.Context,
    engagement_id: Annotated[
        UUID, typer.Option("--engagement", help="The engagement whose team the role is for.")
    ],
    title: Annotated[str, typer.Option(help="The role, e.g. 'Senior claims analyst'.")],
    headcount: Annotated[int, typer.Option(help="How many people to hire for it.")],
    fmt: FormatOption = None,
) -> None:
    """Open a requisition, as a draft, and print it."""
    with _client(ctx) as client:
        created = client.create_requisition(engagement_id, title, headcount)
        write_item(created, chosen(fmt), out=sys.stdout)


@metrics.command("list")
def list_metrics(
    ctx: typer.Context,
    limit: LimitOption = None,
    page_size: PageSizeOption = PAGE_SIZE,
    fmt: FormatOption = None,
) -> None:
    """The metric catalog, in key order."""
    with _client(ctx) as client:
        _write_all(
            METRICS,
            lambda size: client.iter_metrics(page_size=size),
            limit=limit,
            page_size=page_size,
            fmt=fmt,
        )


@metrics.command("get")
def get_metric(ctx: typer.Context, key: str, fmt: FormatOption = None) -> None:
    """One metric of the catalog, every field."""
    with _client(ctx) as client:
        write_item(client.get_metric(key), chosen(fmt), out=sys.stdout)


class PointFormat(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


POINT_MEDIA_TYPES = {PointFormat.CSV: "text/csv", PointFormat.NDJSON: "application/x-ndjson"}
CHUNK_BYTES = 65_536


@kpi.command("push")
def push_points(
    ctx: typer.Context,
    file: Annotated[
        typer.FileBinaryRead, typer.Argument(help="NDJSON or CSV of data points; - for stdin.")
    ],
    point_format: Annotated[
        PointFormat | None,
        typer.Option("--format", help="The file's format.", show_default="from its name"),
    ] = None,
) -> None:
    """Send a file of data points, streamed whatever its size, and print what became of each
    line as JSON. Good lines are written together; rejected ones are listed with the reason.
    Exits 1 if any line was rejected."""
    point_format = point_format or (
        PointFormat.NDJSON if file.name.endswith((".ndjson", ".jsonl")) else PointFormat.CSV
    )
    chunks = iter(lambda: file.read(CHUNK_BYTES), b"")
    with _client(ctx) as client:
        result = client.push_points(chunks, POINT_MEDIA_TYPES[point_format])
    typer.echo(result.model_dump_json(indent=2))
    if result.rejected:
        _fail(f"{result.rejected} lines rejected.", ExitCode.REFUSED)


@kpi.command("export")
def export_points(
    ctx: typer.Context,
    point_format: Annotated[
        PointFormat, typer.Option("--format", help="CSV (re-uploadable) or NDJSON.")
    ] = PointFormat.CSV,
    engagement_id: Annotated[
        UUID | None, typer.Option("--engagement", help="Only this engagement's points.")
    ] = None,
    metric_key: Annotated[str | None, typer.Option("--metric", help="Only this metric.")] = None,
) -> None:
    """Every data point the filters select, streamed to stdout as it arrives."""
    with _client(ctx) as client:
        for chunk in client.export_points(
            export_format=point_format.value, engagement_id=engagement_id, metric_key=metric_key
        ):
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()


def _write_all(
    view: View,
    fetch: Callable[[int], Iterator[BaseModel]],
    *,
    limit: int | None,
    page_size: int,
    fmt: Format | None,
) -> None:
    """Every item `fetch` yields, in pages of `page_size` (fewer if `limit` is less)."""
    size = min(page_size, limit or page_size)
    fmt = chosen(fmt)
    items = itertools.islice(fetch(size), limit)
    shown = with_progress(items, label=view.label, page_size=size, fmt=fmt)
    write_items(shown, view.model, fmt, columns=view.columns, out=sys.stdout)


@contextmanager
def _client(ctx: typer.Context) -> Iterator[Client]:
    """A client for one command; what it raises becomes a message and an exit code."""
    connection = ctx.find_object(Connection)
    assert connection is not None, "the root callback sets it"
    try:
        with Client(
            connection.url, token=connection.token, transport=connection.transport
        ) as client:
            yield client
    except ProblemError as error:
        hint = "" if connection.token else "\nSet HANDOVER_API_KEY, or pass --token."
        _fail(describe(error.problem) + (hint if error.status == 401 else ""), _exit(error))
    except httpx.TransportError as error:
        reason = str(error) or type(error).__name__
        _fail(f"Cannot reach {connection.url}: {reason}", ExitCode.UNAVAILABLE)
    except ValidationError:
        unexpected = f"{connection.url} did not answer as the Handover API does; is --url right?"
        _fail(unexpected, ExitCode.UNAVAILABLE)


def _exit(error: ProblemError) -> ExitCode:
    if error.status in {401, 403}:
        return ExitCode.DENIED
    if error.status == 429 or error.status >= 500:
        return ExitCode.UNAVAILABLE
    return ExitCode.REFUSED


def _fail(message: str, code: ExitCode) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def main() -> None:
    app()
