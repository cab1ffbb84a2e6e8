from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from handover_engagements.audit import AuditTrail
from handover_engagements.clients import kpi
from handover_engagements.engagements.models import Engagement
from handover_engagements.engagements.repository import EngagementRepository
from handover_engagements.entities.service import apply_changes
from handover_engagements.errors import EngagementNotFound, SlaExists, SlaNotFound
from handover_engagements.slas.models import Sla
from handover_engagements.slas.repository import SlaRepository
from handover_engagements.slas.schemas import SlaCreate, SlaRead, SlaUpdate
from handover_kit.auth import Principal
from handover_kit.concurrency import check_version
from handover_kit.db import UniqueViolation
from handover_kit.outbox import Publisher
from handover_kit.pagination import PageRequest
from handover_shared.engagements import SLA_REMOVED, SLA_SET, SlaRemoved, SlaSet

_FIELDS = {"metric_key", "comparator", "target", "window_days", "effective_from"}


def _state(sla: Sla) -> dict[str, Any]:
    return SlaRead.model_validate(sla).model_dump(include=_FIELDS)


class SlaService:
    """Each change is told to kpi, which measures the SLA, in the transaction of the change:
    kpi learns of it if and only if it commits."""

    def __init__(
        self,
        repository: SlaRepository,
        engagements: EngagementRepository,
        audit: AuditTrail,
        publisher: Publisher,
    ) -> None:
        self.repository = repository
        self.engagements = engagements
        self.audit = audit
        self.publisher = publisher

    async def create(self, engagement_id: UUID, data: SlaCreate, actor: Principal) -> Sla:
        engagement = await self._engagement(engagement_id)
        values = data.model_dump()
        values["effective_from"] = values["effective_from"] or datetime.now(UTC)
        try:
            sla = await self.repository.add(
                Sla(
                    engagement_id=engagement.id,
                    client_id=engagement.client_id,
                    partner_id=engagement.partner_id,
                    **values,
                )
            )
        except UniqueViolation:
            raise SlaExists(
                f"Engagement {engagement_id} has an SLA on {data.metric_key} already; change "
                "that one instead.",
                metric_key=data.metric_key,
            ) from None
        await self.audit.record(engagement_id, "sla.created", actor, None, _state(sla))
        await self._tell_set(sla)
        return sla

    async def get(self, engagement_id: UUID, sla_id: UUID) -> Sla:
        await self._engagement(engagement_id)
        return await self._sla(engagement_id, sla_id)

    async def list(self, engagement_id: UUID, page: PageRequest) -> tuple[list[Sla], str | None]:
        await self._engagement(engagement_id)
        return await self.repository.list(engagement_id, page)

    async def update(
        self,
        engagement_id: UUID,
        sla_id: UUID,
        data: SlaUpdate,
        expected: int,
        actor: Principal,
    ) -> Sla:
        await self._engagement(engagement_id)
        sla = await self._sla(engagement_id, sla_id, for_update=True)
        check_version(expected, sla.version)
        before, after = apply_changes(sla, data.model_dump(exclude_unset=True))
        if not after:
            return sla
        sla = await self.repository.save(sla)
        await self.audit.record(engagement_id, "sla.updated", actor, before, after)
        await self._tell_set(sla)
        return sla

    async def remove(self, engagement_id: UUID, sla_id: UUID, actor: Principal) -> None:
        await self._engagement(engagement_id)
        sla = await self._sla(engagement_id, sla_id, for_update=True)
        state = _state(sla)
        await self.repository.remove(sla)
        await self.audit.record(engagement_id, "sla.removed", actor, state, None)
        await self.publisher.tell(
            kpi.UPSTREAM,
            SLA_REMOVED,
            SlaRemoved(
                sla_id=sla.id,
                engagement_id=sla.engagement_id,
                client_id=sla.client_id,
                partner_id=sla.partner_id,
                removed_at=datetime.now(UTC),
            ),
            aggregate_id=sla.id,
        )

    async def _tell_set(self, sla: Sla) -> None:
        await self.publisher.tell(
            kpi.UPSTREAM,
            SLA_SET,
            SlaSet(
                sla_id=sla.id,
                engagement_id=sla.engagement_id,
                client_id=sla.client_id,
                partner_id=sla.partner_id,
                metric_key=sla.metric_key,
                comparator=sla.comparator,
                target=sla.target,
                window_days=sla.window_days,
                effective_from=sla.effective_from,
            ),
            aggregate_id=sla.id,
        )

    async def _engagement(self, engagement_id: UUID) -> Engagement:
        engagement = await self.engagements.get(engagement_id)
        if engagement is None:
            raise EngagementNotFound(f"There is no engagement {engagement_id}.")
        return engagement

    async def _sla(self, engagement_id: UUID, sla_id: UUID, *, for_update: bool = False) -> Sla:
        sla = await self.repository.of(engagement_id, sla_id, for_update=for_update)
        if sla is None:
            raise SlaNotFound(f"Engagement {engagement_id} has no SLA {sla_id}.")
        return sla
