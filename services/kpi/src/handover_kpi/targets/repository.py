from uuid import UUID

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository
from handover_kpi.targets.models import Target
from handover_kpi.targets.schemas import TargetSource
from handover_shared.engagements import SlaRemoved, SlaSet


class TargetRepository(Repository[Target]):
    model = Target

    async def list(
        self, page: PageRequest, *, engagement_id: UUID | None, metric_key: str | None
    ) -> tuple[list[Target], str | None]:
        return await self.page(
            page,
            key=col(Target.id),
            after=page.after_id(),
            equal={col(Target.engagement_id): engagement_id, col(Target.metric_key): metric_key},
        )

    async def remove(self, target: Target) -> None:
        await self.session.delete(target)
        await self.session.flush()

    async def save(self, target: Target) -> Target:
        self.session.add(target)
        await self.session.flush()
        await self.session.refresh(target)
        return target

    async def set_sla(self, sla: SlaSet) -> None:
        """The SLA's target, created or brought up to date; a redefined SLA applies again."""
        values = {
            "metric_key": sla.metric_key,
            "comparator": sla.comparator,
            "threshold": sla.target,
            "window_days": sla.window_days,
            "effective_from": sla.effective_from,
            "effective_to": None,
        }
        statement = insert(Target).values(
            engagement_id=sla.engagement_id,
            client_id=sla.client_id,
            partner_id=sla.partner_id,
            source=TargetSource.SLA,
            sla_id=sla.sla_id,
            at_risk_margin=0.0,
            **values,
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[col(Target.sla_id)], set_={**values, "updated_at": func.now()}
            )
        )

    async def end_sla(self, removal: SlaRemoved) -> None:
        """The SLA's target stops applying at the removal (never before it began)."""
        await self.session.execute(
            update(Target)
            .where(col(Target.sla_id) == removal.sla_id)
            .values(
                effective_to=func.greatest(col(Target.effective_from), removal.removed_at),
                updated_at=func.now(),
            )
        )
