from typing import Annotated
from uuid import UUID

import httpx
from fastapi import Depends, Request

from handover_kit.app import upstream
from handover_kit.auth import Principal
from handover_kit.upstreams import Upstream
from handover_shared.engagements import ENGAGEMENT_NOT_FOUND, EngagementRead

UPSTREAM = "engagements"


class EngagementsClient:
    """The engagements service, as kpi uses it."""

    def __init__(self, engagements: Upstream) -> None:
        self._engagements = engagements

    async def get_engagement(self, engagement_id: UUID) -> EngagementRead | None:
        """The engagement, or None if the engagements service says there is no such engagement."""
        response = await self._engagements.get(f"/internal/v1/engagements/{engagement_id}")
        if _says_no_such_engagement(response):
            return None
        if response.status_code != httpx.codes.OK:
            raise self._engagements.unavailable(f"status {response.status_code}")
        return self._engagements.parse(response, EngagementRead)

    async def visible_engagement(
        self, engagement_id: UUID, principal: Principal
    ) -> EngagementRead | None:
        """The engagement if the caller may see it; another tenant's is None, like a missing one."""
        engagement = await self.get_engagement(engagement_id)
        if engagement is None:
            return None
        if principal.all_tenants or principal.tenant in (
            engagement.client_id,
            engagement.partner_id,
        ):
            return engagement
        return None


def _says_no_such_engagement(response: httpx.Response) -> bool:
    """A 404 about the engagement, not one from a wrong URL or a gateway in between."""
    if response.status_code != httpx.codes.NOT_FOUND:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("type") == ENGAGEMENT_NOT_FOUND


async def engagements_client(request: Request) -> EngagementsClient:
    return EngagementsClient(upstream(request.state, UPSTREAM))


Engagements = Annotated[EngagementsClient, Depends(engagements_client)]
