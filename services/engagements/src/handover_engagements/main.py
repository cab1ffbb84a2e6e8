from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from handover_engagements.access import internal as access_internal
from handover_engagements.access import router as access
from handover_engagements.access.directory import LocalDirectory
from handover_engagements.audit import router as audit
from handover_engagements.clients import kpi, talent
from handover_engagements.config import Settings
from handover_engagements.db import MESSAGING, MIGRATIONS
from handover_engagements.engagements import router as engagements
from handover_engagements.entities import router as entities
from handover_engagements.milestones import router as milestones
from handover_engagements.organizations import router as organizations
from handover_engagements.risks import router as risks
from handover_engagements.slas import router as slas
from handover_engagements.transfer_plans import router as transfer_plans
from handover_kit.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="engagements",
    title="Handover engagements",
    description="Organizations and the Build-Operate-Transfer engagements between them.",
    version="0.2.1",
    migrations=MIGRATIONS,
    routers=[
        organizations.router,
        entities.router,
        engagements.router,
        milestones.router,
        slas.router,
        risks.router,
        transfer_plans.router,
        audit.router,
        access.router,
        engagements.internal_router,
        access_internal.router,
    ],
    directory=lambda db, _: LocalDirectory(db),
    messaging=MESSAGING,
    tags=[
        {"name": "organizations", "description": "Clients and partners (providers)."},
        {
            "name": "legal-entities",
            "description": "The companies an organization acts through, one per registration "
            "and country: employers of teams, and where a transfer moves them.",
        },
        {"name": "engagements", "description": "Who builds what for whom, and in which phase."},
        {
            "name": "milestones",
            "description": "What must happen in each phase, and the evidence that it did.",
        },
        {"name": "slas", "description": "Service levels promised; kpi measures them."},
        {"name": "risks", "description": "What may go wrong, how likely, how bad, and the answer."},
        {
            "name": "transfer-plans",
            "description": "What a transfer hands over to the client, planned from day one.",
        },
        {
            "name": "audit-trail",
            "description": "Every change to an engagement: who, when, before and after, and why.",
        },
        {"name": "memberships", "description": "People's roles in an organization."},
        {"name": "api-keys", "description": "Machines' credentials, and the scopes they hold."},
    ],
)


def create_app(
    settings: Settings | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        SPEC,
        settings,
        upstreams={talent.UPSTREAM: settings.talent_url, kpi.UPSTREAM: settings.kpi_url},
        transports=transports,
    )
