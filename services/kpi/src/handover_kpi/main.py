import dataclasses
from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from handover_kit.app import ServiceSpec, create_service_app
from handover_kit.directory import remote_directory
from handover_kpi.config import Settings
from handover_kpi.db import MESSAGING, MIGRATIONS
from handover_kpi.hiring.handlers import HANDLERS as HIRING_HANDLERS
from handover_kpi.metrics.router import router as metrics_router
from handover_kpi.points.router import BULK_PATHS
from handover_kpi.points.router import router as points_router
from handover_kpi.scorecards.router import internal_router as scorecards_internal_router
from handover_kpi.scorecards.router import router as scorecards_router
from handover_kpi.series.router import router as series_router
from handover_kpi.targets.handlers import HANDLERS as SLA_HANDLERS
from handover_kpi.targets.router import router as targets_router

SPEC = ServiceSpec(
    name="kpi",
    title="Handover KPIs",
    description="The KPIs an engagement is run on and judged ready for transfer by: the metric "
    "catalog, data points and series, targets and SLAs, scorecards and the transfer-readiness "
    "verdict; hiring facts from talent become derived metrics.",
    version="0.2.1",
    migrations=MIGRATIONS,
    routers=[
        metrics_router,
        targets_router,
        scorecards_router,
        scorecards_internal_router,
        points_router,
        series_router,
    ],
    directory=remote_directory("engagements"),
    messaging=MESSAGING,
    handlers=[*HIRING_HANDLERS, *SLA_HANDLERS],
    tags=[
        {"name": "metrics", "description": "What can be measured: unit, aggregation, direction."},
        {
            "name": "targets",
            "description": "What an engagement's metrics are held to, by hand or by its SLAs.",
        },
        {
            "name": "scorecards",
            "description": "How an engagement stands against its targets, and whether that "
            "makes it ready for transfer.",
        },
        {
            "name": "data points",
            "description": "Measured values: ingested in bulk, corrected with history, exported "
            "and synced by scripts.",
        },
        {"name": "series", "description": "Data points over time, per period."},
    ],
)


def create_app(
    settings: Settings | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    settings = settings or Settings()
    spec = dataclasses.replace(
        SPEC, body_limits=dict.fromkeys(BULK_PATHS, settings.bulk_max_body_bytes)
    )
    app = create_service_app(
        spec, settings, upstreams={"engagements": settings.engagements_url}, transports=transports
    )
    app.state.settings = settings
    return app
