from handover_kit.db import UniqueViolation
from handover_kit.pagination import PageRequest
from handover_kpi.errors import MetricExists, MetricNotFound
from handover_kpi.metrics.models import Metric
from handover_kpi.metrics.repository import MetricRepository
from handover_kpi.metrics.schemas import MetricCreate


class MetricService:
    def __init__(self, repository: MetricRepository) -> None:
        self.repository = repository

    async def create(self, data: MetricCreate) -> Metric:
        try:
            return await self.repository.add(Metric(**data.model_dump(), built_in=False))
        except UniqueViolation:
            raise MetricExists(f"There is a metric {data.key} already.") from None

    async def get(self, key: str) -> Metric:
        metric = await self.repository.get(key)
        if metric is None:
            raise MetricNotFound(f"There is no metric {key}.")
        return metric

    async def list(self, page: PageRequest) -> tuple[list[Metric], str | None]:
        return await self.repository.list(page)
