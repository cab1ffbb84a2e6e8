from typing import Any
from uuid import UUID

from handover_engagements.audit import AuditTrail
from handover_engagements.engagements.models import Engagement
from handover_engagements.engagements.repository import EngagementRepository
from handover_engagements.entities.service import apply_changes
from handover_engagements.errors import EngagementNotFound, RiskNotFound
from handover_engagements.risks.models import Risk
from handover_engagements.risks.repository import RiskRepository
from handover_engagements.risks.schemas import RiskCreate, RiskRead, RiskStatus, RiskUpdate
from handover_kit.auth import Principal
from handover_kit.concurrency import check_version
from handover_kit.pagination import PageRequest

_FIELDS = set(RiskCreate.model_fields) | {"severity"}


def _state(risk: Risk) -> dict[str, Any]:
    return RiskRead.model_validate(risk).model_dump(include=_FIELDS)


class RiskService:
    def __init__(
        self, repository: RiskRepository, engagements: EngagementRepository, audit: AuditTrail
    ) -> None:
        self.repository = repository
        self.engagements = engagements
        self.audit = audit

    async def create(self, engagement_id: UUID, data: RiskCreate, actor: Principal) -> Risk:
        engagement = await self._engagement(engagement_id)
        risk = await self.repository.add(
            Risk(
                engagement_id=engagement.id,
                client_id=engagement.client_id,
                partner_id=engagement.partner_id,
                **data.model_dump(),
            )
        )
        await self.audit.record(engagement_id, "risk.created", actor, None, _state(risk))
        return risk

    async def get(self, engagement_id: UUID, risk_id: UUID) -> Risk:
        await self._engagement(engagement_id)
        return await self._risk(engagement_id, risk_id)

    async def list(
        self,
        engagement_id: UUID,
        page: PageRequest,
        *,
        status: RiskStatus | None,
        min_severity: int | None,
    ) -> tuple[list[Risk], str | None]:
        await self._engagement(engagement_id)
        return await self.repository.list(
            engagement_id, page, status=status, min_severity=min_severity
        )

    async def update(
        self,
        engagement_id: UUID,
        risk_id: UUID,
        data: RiskUpdate,
        expected: int,
        actor: Principal,
    ) -> Risk:
        await self._engagement(engagement_id)
        risk = await self._risk(engagement_id, risk_id, for_update=True)
        check_version(expected, risk.version)
        severity = risk.severity
        before, after = apply_changes(risk, data.model_dump(exclude_unset=True))
        if not after:
            return risk
        risk = await self.repository.save(risk)
        if risk.severity != severity:
            before["severity"], after["severity"] = severity, risk.severity
        await self.audit.record(engagement_id, "risk.updated", actor, before, after)
        return risk

    async def _engagement(self, engagement_id: UUID) -> Engagement:
        engagement = await self.engagements.get(engagement_id)
        if engagement is None:
            raise EngagementNotFound(f"There is no engagement {engagement_id}.")
        return engagement

    async def _risk(self, engagement_id: UUID, risk_id: UUID, *, for_update: bool = False) -> Risk:
        risk = await self.repository.of(engagement_id, risk_id, for_update=for_update)
        if risk is None:
            raise RiskNotFound(f"Engagement {engagement_id} has no risk {risk_id}.")
        return risk
