from handover_kit.pagination import PageRequest
from handover_kpi.errors import MetricNotFound
from handover_kpi.metrics.models import Metric
from handover_kpi.metrics.repository import MetricRepository


class MetricService:
    def __init__(self, repository: MetricRepository) -> None:
        self.repository = repository

    async def get(self, key: str) -> Metric:
        metric = await self.repository.get(key)
        if metric is None:
            raise MetricNotFound(f"There is no metric {key}.")
        return metric

    async def list(self, page: PageRequest) -> tuple[list[Metric], str | None]:
        return await self.repository.list(page)
