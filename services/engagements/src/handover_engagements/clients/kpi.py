from uuid import UUID

import httpx
from fastapi import Request

from handover_kit.app import upstream
from handover_kit.upstreams import Upstream
from handover_shared.kpi import TRANSFER_READINESS_PATH, TransferReadiness

UPSTREAM = "kpi"


class KpiClient:
    """The kpi service, as the engagements' gates ask it. Anything but a readable 200 is the
    kpi service being unavailable: a gate never passes on a guess."""

    def __init__(self, kpi: Upstream) -> None:
        self._kpi = kpi

    async def transfer_readiness(self, engagement_id: UUID) -> TransferReadiness:
        response = await self._kpi.get(TRANSFER_READINESS_PATH.format(engagement_id=engagement_id))
        if response.status_code != httpx.codes.OK:
            raise self._kpi.unavailable(f"status {response.status_code}")
        return self._kpi.parse(response, TransferReadiness)


def kpi_of(request: Request) -> KpiClient:
    """For a dependency that needs it: a plain call, not one more dependency to solve."""
    return KpiClient(upstream(request.state, UPSTREAM))
