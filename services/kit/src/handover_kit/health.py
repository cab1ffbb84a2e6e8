"""Probes: `/healthz` says the process is up; `/readyz` that it can do its work."""

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import ProgrammingError

from handover_kit.db import database
from handover_kit.errors import ServiceUnavailable
from handover_kit.migrations import SchemaCheck, revision_query

READINESS_TIMEOUT_SECONDS = 2.0


class NotReady(ServiceUnavailable):
    title = "Not Ready"
    type = "/problems/not-ready"


def health_router(schema: str, check: SchemaCheck) -> APIRouter:
    router = APIRouter(tags=["probes"], include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> dict[str, Any]:
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
                revision = await database(request).scalar(revision_query(schema))
            current = revision if isinstance(revision, str) else None
        except ProgrammingError:
            current = None  # reachable, but the version table is not there yet
        except Exception as exc:  # noqa: BLE001 - any failure to reach the database means not ready
            raise NotReady("The database is not reachable.", reason=type(exc).__name__) from None
        if check.behind(current):
            raise NotReady(
                f"Migrations are at {current or 'nothing'}, the code expects {check.head}.",
                current_revision=current,
                expected_revision=check.head,
            )
        return {"status": "ready", "revision": current}

    return router
