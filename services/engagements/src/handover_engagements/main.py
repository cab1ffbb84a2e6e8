from fastapi import FastAPI

from handover_engagements.config import Settings
from handover_engagements.db import MIGRATIONS
from handover_engagements.engagements.router import router as engagements_router
from handover_engagements.organizations.router import router as organizations_router
from handover_kit.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="engagements",
    title="Handover engagements",
    description="Organizations and the Build-Operate-Transfer engagements between them.",
    version="0.1.0",
    migrations=MIGRATIONS,
    routers=[organizations_router, engagements_router],
    tags=[
        {"name": "organizations", "description": "Clients and partners (providers)."},
        {"name": "engagements", "description": "Who builds what for whom, and in which phase."},
    ],
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings())
