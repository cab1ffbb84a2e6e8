from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from handover_engagements.access import internal as access_internal
from handover_engagements.access import router as access
from handover_engagements.access.directory import LocalDirectory
from handover_engagements.config import Settings
from handover_engagements.db import MESSAGING, MIGRATIONS
from handover_engagements.engagements import router as engagements
from handover_engagements.organizations import router as organizations
from handover_kit.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="engagements",
    title="Handover engagements",
    description="Organizations and the Build-Operate-Transfer engagements between them.",
    version="0.1.0",
    migrations=MIGRATIONS,
    routers=[
        organizations.router,
        engagements.router,
        access.router,
        engagements.internal_router,
        access_internal.router,
    ],
    directory=lambda db, _: LocalDirectory(db),
    messaging=MESSAGING,
    tags=[
        {"name": "organizations", "description": "Clients and partners (providers)."},
        {"name": "engagements", "description": "Who builds what for whom, and in which phase."},
        {"name": "memberships", "description": "People's roles in an organization."},
        {"name": "api-keys", "description": "Machines' credentials, and the scopes they hold."},
    ],
)


def create_app(
    settings: Settings | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    return create_service_app(SPEC, settings or Settings(), transports=transports)
