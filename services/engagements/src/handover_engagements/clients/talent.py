from uuid import UUID

import httpx
from fastapi import Request

from handover_kit.app import upstream
from handover_kit.upstreams import Upstream
from handover_shared.talent import (
    EMPLOYMENT_PATH,
    HIRING_PROGRESS_PATH,
    EmploymentStatus,
    HiringProgress,
)

UPSTREAM = "talent"


class TalentClient:
    """The talent service, as the engagements' gates ask it. Anything but a readable 200 is
    the talent service being unavailable: a gate never passes on a guess."""

    def __init__(self, talent: Upstream) -> None:
        self._talent = talent

    async def hiring_progress(self, engagement_id: UUID) -> HiringProgress:
        response = await self._talent.get(HIRING_PROGRESS_PATH.format(engagement_id=engagement_id))
        if response.status_code != httpx.codes.OK:
            raise self._talent.unavailable(f"status {response.status_code}")
        return self._talent.parse(response, HiringProgress)

    async def employment(self, engagement_id: UUID, employer_entity_id: UUID) -> EmploymentStatus:
        response = await self._talent.get(
            EMPLOYMENT_PATH.format(engagement_id=engagement_id),
            params={"employer_entity_id": str(employer_entity_id)},
        )
        if response.status_code != httpx.codes.OK:
            raise self._talent.unavailable(f"status {response.status_code}")
        return self._talent.parse(response, EmploymentStatus)


def talent_of(request: Request) -> TalentClient:
    """For a dependency that needs it: a plain call, not one more dependency to solve."""
    return TalentClient(upstream(request.state, UPSTREAM))
