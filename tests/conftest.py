"""One real PostgreSQL per test session; per test, a database cloned from a migrated template."""

import asyncio
import functools
import random
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import structlog
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import URL

from handover_engagements.access.bootstrap import create_platform_key
from handover_engagements.config import Settings as EngagementsSettings
from handover_engagements.main import create_app as create_engagements
from handover_kit.app import IDENTITY_PROVIDER
from handover_kit.credentials import ServiceAuth
from handover_kit.db import dsn
from handover_kpi.config import Settings as KpiSettings
from handover_kpi.main import create_app as create_kpi
from handover_talent.config import Settings as TalentSettings
from handover_talent.main import create_app as create_talent
from handover_tools.postgres import Server, drop_database, ensure_database
from handover_tools.postgres import from_environment_or_embedded as start_server
from handover_tools.stack import Ports, Stack, migrate_all
from tests.identity import SERVICE_SETTINGS, IdentityProvider

TEMPLATE_DATABASE = "handover_test_template"
# The services' log lines in tests as structlog's defaults write them, but with plain
# tracebacks: rich's print every frame's locals, and drawing one (a background task failing
# on an unmigrated database, say) stalls the event loop past a probe's two seconds.
structlog.configure(
    processors=[
        *structlog.get_config()["processors"][:-1],
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
    ]
)
EPHEMERAL_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
FIRST_TEST_PORT = 10000


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("postgres") / "data", delete_on_stop=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def template_database(pg_server: Server) -> str:
    asyncio.run(drop_database(pg_server, TEMPLATE_DATABASE))
    url = asyncio.run(ensure_database(pg_server, TEMPLATE_DATABASE))
    migrate_all(url)
    return TEMPLATE_DATABASE


@pytest.fixture
def empty_database(pg_server: Server) -> Iterator[URL]:
    """A database with nothing in it: not provisioned, not migrated."""
    name = f"test_{uuid4().hex[:16]}"
    yield asyncio.run(ensure_database(pg_server, name))
    asyncio.run(drop_database(pg_server, name))


@pytest.fixture
def database_url(pg_server: Server, template_database: str) -> Iterator[URL]:
    """A database of its own for this test, migrated to head for every service."""
    name = f"test_{uuid4().hex[:16]}"
    yield asyncio.run(ensure_database(pg_server, name, template=template_database))
    asyncio.run(drop_database(pg_server, name))


def as_service(url: URL) -> str:
    """What a service is given: the server and database, without the admin's credentials."""
    return dsn(url.set(username=None, password=None))


@dataclass
class Services:
    """The three services in-process. `engagements`, `talent` and `kpi` act as a platform
    administrator; `acting_as` gives clients that present another credential."""

    apps: dict[str, Any]
    """Each service's ASGI app, with its lifespan state."""
    admin_key: str
    engagements: httpx.AsyncClient
    talent: httpx.AsyncClient
    kpi: httpx.AsyncClient
    _stack: AsyncExitStack

    async def acting_as(self, token: str | None) -> "Clients":
        clients = [
            await self._stack.enter_async_context(_client(self.apps[name], name, token))
            for name in ("engagements", "talent", "kpi")
        ]
        return Clients(*clients)


@dataclass
class Clients:
    engagements: httpx.AsyncClient
    talent: httpx.AsyncClient
    kpi: httpx.AsyncClient


def _client(app: object, name: str, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url=f"http://{name}",
        headers={"Authorization": f"Bearer {token}"} if token else None,
    )


@functools.cache
def openapi_document(service: str) -> dict[str, Any]:
    """A service's OpenAPI document; the same for every test, so built once."""
    unused = "postgresql://unused/unused"
    apps = {
        "engagements": lambda: create_engagements(EngagementsSettings.with_database(unused)),
        "talent": lambda: create_talent(TalentSettings.with_database(unused)),
        "kpi": lambda: create_kpi(KpiSettings.with_database(unused)),
    }
    return apps[service]().openapi()


@pytest.fixture(scope="session")
def identity_provider() -> IdentityProvider:
    return IdentityProvider()


@pytest.fixture
async def services(
    database_url: URL, identity_provider: IdentityProvider
) -> AsyncIterator[Services]:
    """The three services in-process, on this test's database. Talent and kpi reach
    engagements, talent tells kpi its facts, and all three reach the identity provider,
    over in-process transports."""
    url = as_service(database_url)
    engagements_settings = EngagementsSettings.with_database(url, **SERVICE_SETTINGS)
    admin_key = await create_platform_key(engagements_settings, "tests")
    idp = {IDENTITY_PROVIDER: identity_provider.transport()}
    async with AsyncExitStack() as stack:
        engagements_app = create_engagements(engagements_settings, transports=idp)
        engagements = await stack.enter_async_context(LifespanManager(engagements_app))
        upstreams = {"engagements": httpx.ASGITransport(app=engagements.app), **idp}
        kpi_app = create_kpi(
            KpiSettings.with_database(url, **SERVICE_SETTINGS), transports=upstreams
        )
        kpi = await stack.enter_async_context(LifespanManager(kpi_app))
        talent_app = create_talent(
            TalentSettings.with_database(url, **SERVICE_SETTINGS),
            transports={**upstreams, "kpi": httpx.ASGITransport(app=kpi.app)},
        )
        talent = await stack.enter_async_context(LifespanManager(talent_app))
        apps = {"engagements": engagements.app, "talent": talent.app, "kpi": kpi.app}
        clients = {
            name: await stack.enter_async_context(_client(apps[name], name, admin_key))
            for name in ("engagements", "talent", "kpi")
        }
        yield Services(apps, admin_key, **clients, _stack=stack)


def _kpi_called_by(services: Services, caller: str, key: Ed25519PrivateKey) -> httpx.AsyncClient:
    """kpi, called as the service `caller` calls it: with a token signed by its key."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=services.apps["kpi"]),
        base_url="http://kpi",
        auth=ServiceAuth(caller, key, audience="kpi"),
    )


@pytest.fixture
async def as_talent(services: Services, database_url: URL) -> AsyncIterator[httpx.AsyncClient]:
    key = TalentSettings.with_database(as_service(database_url)).signing_key("talent")
    async with _kpi_called_by(services, "talent", key) as client:
        yield client


@pytest.fixture
async def as_engagements(services: Services, database_url: URL) -> AsyncIterator[httpx.AsyncClient]:
    key = KpiSettings.with_database(as_service(database_url)).signing_key("engagements")
    async with _kpi_called_by(services, "engagements", key) as client:
        yield client


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def _ephemeral_ports_start() -> int:
    """Where the kernel starts drawing the local ports of outgoing connections."""
    try:
        return int(EPHEMERAL_PORT_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port_block(size: int) -> int:
    """The first of `size` consecutive free TCP ports on loopback, below the ports the kernel
    gives outgoing connections. Inside that range, a client retrying a stopped service (a
    relay, a gate) can be given the service's own port as its local one and connect to
    itself (TCP's simultaneous open), holding the port so that the service cannot start
    again."""
    end = _ephemeral_ports_start() - size
    for _ in range(200):
        first = random.randrange(FIRST_TEST_PORT, end)  # noqa: S311 - not a secret
        try:
            with ExitStack() as held:
                for port in range(first, first + size):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise RuntimeError("no block of free ports found")


@pytest.fixture(scope="session")
def live(pg_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real system: three service processes and the Caddy gateway, on free ports."""
    stack = Stack(
        pg_server, tmp_path_factory.mktemp("stack"), Ports.from_gateway(free_port_block(4))
    )
    try:
        yield stack.start()
    finally:
        stack.stop()
