from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from handover_kit.pagination import PageRequest, paginate
from handover_kpi.metrics.models import Metric


class MetricRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str) -> Metric | None:
        return await self.session.get(Metric, key)

    async def list(self, page: PageRequest) -> tuple[list[Metric], str | None]:
        return await paginate(self.session, select(Metric), col(Metric.key), page, page.after)
