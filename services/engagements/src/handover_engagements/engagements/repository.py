from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import func
from sqlmodel import col, select

from handover_engagements.engagements.models import Engagement
from handover_engagements.engagements.schemas import BusinessFunction, DeliveryModel, Phase
from handover_engagements.entities.models import LegalEntity
from handover_engagements.milestones.models import Milestone
from handover_engagements.milestones.schemas import SETTLED
from handover_engagements.transfer_plans.models import TransferPlanItem
from handover_engagements.transfer_plans.schemas import FINISHED
from handover_kit.pagination import PageRequest, next_cursor, paginate
from handover_kit.repository import Repository, Rows


@dataclass(frozen=True)
class EngagementFilter:
    client_id: UUID | None = None
    partner_id: UUID | None = None
    phase: Phase | None = None
    delivery_model: DeliveryModel | None = None
    country: str | None = None
    business_function: BusinessFunction | None = None
    q: str | None = None


@dataclass(frozen=True)
class LegalEntityFacts:
    organization_id: UUID
    country: str


def _like(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class EngagementRepository(Repository[Engagement]):
    model = Engagement

    async def list(
        self, page: PageRequest, filters: EngagementFilter
    ) -> tuple[list[Engagement], str | None]:
        statement = select(Engagement)
        for column, value in {
            col(Engagement.client_id): filters.client_id,
            col(Engagement.partner_id): filters.partner_id,
            col(Engagement.phase): filters.phase,
            col(Engagement.delivery_model): filters.delivery_model,
            col(Engagement.destination_country): filters.country,
        }.items():
            if value is not None:
                statement = statement.where(column == value)
        if filters.business_function is not None:
            statement = statement.where(
                col(Engagement.business_functions).contains([filters.business_function.value])
            )
        if filters.q:
            statement = statement.where(
                func.lower(col(Engagement.name)).like(_like(filters.q.lower()), escape="\\")
            )
        return await paginate(self.session, statement, col(Engagement.id), page, page.after_id())

    async def for_update(self, engagement_id: UUID) -> Engagement | None:
        """The engagement, locked until the transaction ends: changes to it queue up, so a
        version checked here is still the version written."""
        return await self.session.get(Engagement, engagement_id, with_for_update=True)

    async def save(self, engagement: Engagement) -> Engagement:
        self.session.add(engagement)
        await self.session.flush()
        await self.session.refresh(engagement)
        return engagement

    async def legal_entity(self, entity_id: UUID) -> LegalEntityFacts | None:
        """Whose a legal entity is and where, if the caller may see it."""
        entity = await self.session.get(LegalEntity, entity_id)
        return None if entity is None else LegalEntityFacts(entity.organization_id, entity.country)


ENGAGEMENTS = Rows(Engagement)
_SELECT = f"SELECT {ENGAGEMENTS.columns} FROM {ENGAGEMENTS.table}"  # noqa: S608 - from the model
_BY_ID = f"{_SELECT} WHERE id = $1"
# Each filter as a condition on its own parameter; only those given are sent.
_FILTERS = {
    "client_id": "client_id = ${}",
    "partner_id": "partner_id = ${}",
    "phase": "phase = ${}",
    "delivery_model": "delivery_model = ${}",
    "country": "destination_country = ${}",
    "business_function": "business_functions @> ARRAY[${}]::varchar(32)[]",
    "q": "lower(name) LIKE ${} ESCAPE '\\'",
}


class EngagementRows:
    """The engagements that reads return, straight from the driver (see
    `handover_kit.db.Database.raw`): the same rows as `EngagementRepository`'s, at a
    fraction of the cost, for the routes called most."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def get(self, engagement_id: UUID) -> Engagement | None:
        row = await self.connection.fetchrow(_BY_ID, engagement_id)
        return None if row is None else ENGAGEMENTS(row)

    async def list(
        self, page: PageRequest, filters: EngagementFilter
    ) -> tuple[list[Engagement], str | None]:
        conditions: list[str] = []
        arguments: list[Any] = []

        def where(condition: str, argument: object) -> None:
            arguments.append(argument)
            conditions.append(condition.format(len(arguments)))

        for name, condition in _FILTERS.items():
            value = getattr(filters, name)
            if value is not None and value != "":
                if name == "q":
                    value = _like(value.lower())
                where(condition, value)
        after = page.after_id()
        if after is not None:
            where("id > ${}", after)
        arguments.append(page.limit + 1)
        where_clause = " AND ".join(conditions) or "true"
        sql = f"{_SELECT} WHERE {where_clause} ORDER BY id LIMIT ${len(arguments)}"
        rows = [ENGAGEMENTS(row) for row in await self.connection.fetch(sql, *arguments)]
        return rows[: page.limit], next_cursor([row.id for row in rows], page.limit)


MILESTONES = Rows(Milestone)
TRANSFER_PLAN_ITEMS = Rows(TransferPlanItem)
_UNFINISHED_MILESTONES = (
    f"SELECT count(*) FROM {MILESTONES.table}"  # noqa: S608 - from the model
    " WHERE engagement_id = $1 AND phase = $2 AND status <> ALL($3::text[])"
)
_UNFINISHED_ITEMS = (
    f"SELECT title FROM {TRANSFER_PLAN_ITEMS.table}"  # noqa: S608 - from the model
    " WHERE engagement_id = $1 AND status <> ALL($2::text[]) ORDER BY id"
)
_SETTLED = sorted(status.value for status in SETTLED)
_FINISHED = sorted(status.value for status in FINISHED)


class GateRows(EngagementRows):
    """What a gate's dry run reads of this service's records, on a read-only connection: the
    engagement, and what holds its gates back (see `gates.GateRecords`)."""

    async def unfinished_milestones(self, engagement_id: UUID, phase: Phase) -> int:
        count = await self.connection.fetchval(
            _UNFINISHED_MILESTONES, engagement_id, phase.value, _SETTLED
        )
        assert isinstance(count, int)
        return count

    async def unfinished_items(self, engagement_id: UUID) -> list[str]:
        rows = await self.connection.fetch(_UNFINISHED_ITEMS, engagement_id, _FINISHED)
        return [row["title"] for row in rows]
