from typing import Annotated, NoReturn
from uuid import UUID

import httpx
import structlog
from fastapi import Depends, Request
from pydantic import ValidationError

from handover_kit.app import upstream
from handover_kit.errors import DependencyUnavailable
from handover_shared.engagements import ENGAGEMENT_NOT_FOUND, EngagementRead

UPSTREAM = "engagements"

log = structlog.get_logger(__name__)


class EngagementsClient:
    """The engagements service, as talent uses it."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def get_engagement(self, engagement_id: UUID) -> EngagementRead | None:
        """The engagement, or None if the engagements service says there is no such engagement."""
        try:
            response = await self._http.get(f"/internal/v1/engagements/{engagement_id}")
        except httpx.HTTPError as exc:
            _unavailable(type(exc).__name__)
        if _says_no_such_engagement(response):
            return None
        if response.status_code != httpx.codes.OK:
            _unavailable(f"status {response.status_code}")
        try:
            return EngagementRead.model_validate_json(response.content)
        except ValidationError:
            _unavailable("unreadable engagement")


def _says_no_such_engagement(response: httpx.Response) -> bool:
    """A 404 about the engagement, not one from a wrong URL or a gateway in between."""
    if response.status_code != httpx.codes.NOT_FOUND:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("type") == ENGAGEMENT_NOT_FOUND


def _unavailable(reason: str) -> NoReturn:
    log.warning("upstream_unavailable", upstream=UPSTREAM, reason=reason)
    raise DependencyUnavailable(
        "The engagements service could not be asked about the engagement; try again later.",
        dependency=UPSTREAM,
    )


def engagements_client(request: Request) -> EngagementsClient:
    return EngagementsClient(upstream(request.state, UPSTREAM))


Engagements = Annotated[EngagementsClient, Depends(engagements_client)]
