from datetime import UTC, datetime
from uuid import UUID

from handover_kit.auth import Principal
from handover_kit.errors import UnprocessableContent
from handover_kit.pagination import PageRequest
from handover_kpi.clients.engagements import EngagementsClient
from handover_kpi.errors import SlaTargetReadOnly, TargetNotFound, UnknownEngagement, UnknownMetric
from handover_kpi.metrics.repository import MetricRepository
from handover_kpi.targets.models import Target
from handover_kpi.targets.repository import TargetRepository
from handover_kpi.targets.schemas import (
    OUT_OF_RANGE,
    TargetCreate,
    TargetSource,
    TargetUpdate,
    storable,
)
from handover_shared.problems import FieldError


class TargetService:
    def __init__(
        self,
        repository: TargetRepository,
        metrics: MetricRepository,
        engagements: EngagementsClient,
    ) -> None:
        self.repository = repository
        self.metrics = metrics
        self.engagements = engagements

    async def create(self, data: TargetCreate, principal: Principal) -> Target:
        # Asked before the first query, so no connection idles in a transaction meanwhile.
        engagement = await self.engagements.visible_engagement(data.engagement_id, principal)
        if engagement is None:
            raise UnknownEngagement(
                f"There is no engagement {data.engagement_id}.",
                errors=[_field_error("engagement_id", "No such engagement")],
            )
        if await self.metrics.get(data.metric_key) is None:
            raise UnknownMetric(
                f"There is no metric {data.metric_key}.",
                errors=[_field_error("metric_key", "No such metric")],
            )
        return await self.repository.add(
            Target(
                **data.model_dump(exclude={"effective_from"}),
                effective_from=data.effective_from or datetime.now(UTC),
                client_id=engagement.client_id,
                partner_id=engagement.partner_id,
                source=TargetSource.MANUAL,
            )
        )

    async def get(self, target_id: UUID) -> Target:
        target = await self.repository.get(target_id)
        if target is None:
            raise TargetNotFound(f"There is no target {target_id}.")
        return target

    async def list(
        self, page: PageRequest, *, engagement_id: UUID | None, metric_key: str | None
    ) -> tuple[list[Target], str | None]:
        return await self.repository.list(page, engagement_id=engagement_id, metric_key=metric_key)

    async def update(self, target_id: UUID, data: TargetUpdate) -> Target:
        target = _editable(await self.get(target_id))
        changes = data.model_dump(exclude_unset=True)
        for name in ("effective_from", "effective_to"):
            if changes.get(name) is not None and not storable(changes[name]):
                raise UnprocessableContent(
                    f"The target's {name} is out of range.",
                    errors=[_field_error(name, OUT_OF_RANGE, "value_error")],
                )
        for name, value in changes.items():
            setattr(target, name, value)
        if target.effective_to is not None and target.effective_to <= target.effective_from:
            raise UnprocessableContent(
                "The target would end before it begins.",
                errors=[
                    _field_error("effective_to", "Must be later than effective_from", "value_error")
                ],
            )
        return await self.repository.save(target)

    async def delete(self, target_id: UUID) -> None:
        await self.repository.remove(_editable(await self.get(target_id)))


def _editable(target: Target) -> Target:
    if target.source == TargetSource.SLA:
        raise SlaTargetReadOnly(
            "This target is one of the engagement's SLAs: change or remove the SLA in the "
            "engagements service, and the target follows."
        )
    return target


def _field_error(field: str, message: str, kind: str = "not_found") -> FieldError:
    return FieldError(loc=["body", field], msg=message, type=kind)
