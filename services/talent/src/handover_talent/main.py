from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

import httpx
from fastapi import FastAPI

from handover_kit.app import ServiceSpec, create_service_app
from handover_kit.db import Database
from handover_kit.directory import remote_directory
from handover_talent.clients import engagements, kpi
from handover_talent.config import Settings
from handover_talent.db import MESSAGING, MIGRATIONS
from handover_talent.ingestion.apply import apply_to_pipeline
from handover_talent.ingestion.processor import Processor
from handover_talent.ingestion.router import router as hris_router
from handover_talent.ingestion.router import webhook_router as hris_webhook_router
from handover_talent.ingestion.secrets import SecretBox
from handover_talent.ingestion.service import SourceKeyCache
from handover_talent.ingestion.wakeup import ProcessorWakeup
from handover_talent.members.router import internal_router as members_internal_router
from handover_talent.members.router import members_router, transfers_router
from handover_talent.pipeline.router import applications_router, candidates_router
from handover_talent.requisitions.router import router as requisitions_router
from handover_talent.roles.router import router as roles_router

SPEC = ServiceSpec(
    name="talent",
    title="Handover talent",
    description="Hiring for the teams an engagement builds: role definitions, requisitions, "
    "candidates and their applications, the team members hired, and whose employment they are "
    "in; and the HRIS/ATS sources that push hiring events.",
    version="0.2.1",
    migrations=MIGRATIONS,
    routers=[
        hris_webhook_router,
        roles_router,
        requisitions_router,
        candidates_router,
        applications_router,
        members_router,
        transfers_router,
        members_internal_router,
        hris_router,
    ],
    directory=remote_directory(engagements.UPSTREAM),
    messaging=MESSAGING,
    tags=[
        {
            "name": "roles",
            "description": "What each position in an engagement's team is for, written before "
            "anyone is hired for it.",
        },
        {"name": "requisitions", "description": "Roles an engagement needs filled, and how many."},
        {"name": "candidates", "description": "People considered for a team; erasable."},
        {
            "name": "applications",
            "description": "A candidate in the pipeline of one requisition, with the full "
            "history of its stages.",
        },
        {
            "name": "team-members",
            "description": "The people an engagement employs, who employs them, and when they "
            "joined and left.",
        },
        {
            "name": "employment-transfers",
            "description": "Moves of team members' contracts to the client's legal entity.",
        },
        {
            "name": "hris",
            "description": "HRIS and ATS sources that push hiring events, signed; what each sent "
            "and what became of it.",
        },
    ],
)


def hris_processor(db: Database, settings: Settings) -> Processor:
    """The HRIS event processor, as the server and `process-hris-events` both run it."""
    return Processor(
        db,
        apply_to_pipeline,
        poll_interval=settings.hris_poll_seconds,
        body_retention=timedelta(days=settings.hris_body_retention_days),
    )


def create_app(
    settings: Settings | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    settings = settings or Settings()

    def applying(db: Database) -> AbstractAsyncContextManager[None]:
        return hris_processor(db, settings).running()

    wakeup = ProcessorWakeup()

    app = create_service_app(
        SPEC,
        settings,
        upstreams={engagements.UPSTREAM: settings.engagements_url, kpi.UPSTREAM: settings.kpi_url},
        transports=transports,
        workers=[wakeup.running, *([applying] if settings.hris_processor else [])],
    )
    app.state.hris_wakeup = wakeup
    app.state.hris_secrets = SecretBox(settings.hris_keys())
    app.state.hris_source_keys = SourceKeyCache()
    return app
