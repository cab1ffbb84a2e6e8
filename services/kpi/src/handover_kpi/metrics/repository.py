from sqlmodel import col

from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository
from handover_kpi.metrics.models import Metric


class MetricRepository(Repository[Metric]):
    model = Metric

    async def list(self, page: PageRequest) -> tuple[list[Metric], str | None]:
        return await self.page(page, key=col(Metric.key), after=page.after)
