"""The first key: a platform-wide API key made from the command line, before anyone can call
the API (a fresh installation, the development stack)."""

import argparse
import asyncio

from handover_engagements.access.schemas import ApiKeyCreate
from handover_engagements.access.service import AccessService
from handover_kit.auth import Principal, PrincipalKind
from handover_kit.db import ALL_TENANTS, Database
from handover_kit.settings import ServiceSettings
from handover_shared.auth import Scope

OPERATOR = Principal(PrincipalKind.SERVICE, "cli:create-platform-key", None, frozenset(Scope))


async def create_platform_key(settings: ServiceSettings, name: str) -> str:
    """A new key with every scope; returns the key itself."""
    db = Database(settings, application_name="engagements-cli")
    try:
        async with db.session(ALL_TENANTS) as session, session.begin():
            _, secret = await AccessService.of(session).create_key(
                ApiKeyCreate(name=name, scopes=list(Scope)), OPERATOR
            )
        return secret
    finally:
        await db.dispose()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="what the key is for")


def run(settings: ServiceSettings, args: argparse.Namespace) -> int:
    print(asyncio.run(create_platform_key(settings, args.name)))
    return 0
