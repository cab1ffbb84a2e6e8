"""The SQL of hiring facts: storing each once, and reading them back per engagement."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Date, Float, cast, func, literal_column
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from handover_kpi.hiring.models import (
    CompletedOnboarding,
    HeadcountReading,
    Hire,
    Offer,
    OpenedRequisition,
    Termination,
)

SECONDS_PER_DAY = 86400.0


def _month(column: Any) -> Any:
    """The first day of the UTC month a timestamp or date falls in."""
    return cast(func.date_trunc("month", func.timezone("UTC", column)), Date)


def _month_of_date(column: Any) -> Any:
    return cast(func.date_trunc("month", column), Date)


class HiringRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_engagement(self, engagement_id: UUID) -> None:
        """Hold the engagement's derivations until this transaction ends: two facts about one
        engagement applied at once would each recompute without the other's row."""
        await self.session.execute(
            select(
                func.pg_advisory_xact_lock(func.hashtextextended(f"kpi.hiring:{engagement_id}", 0))
            )
        )

    async def keep_first(self, model: type[SQLModel], values: dict[str, Any]) -> None:
        """Store a fact; one about a thing already told of changes nothing."""
        await self.session.execute(insert(model).values(**values).on_conflict_do_nothing())

    async def decide_offer(self, values: dict[str, Any]) -> None:
        """The first decision about an offer is kept, whether or not its making was told."""
        statement = insert(Offer).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[col(Offer.application_id)],
                set_={
                    "accepted": statement.excluded.accepted,
                    "decided_at": statement.excluded.decided_at,
                },
                where=col(Offer.decided_at).is_(None),
            )
        )

    async def keep_hire(self, values: dict[str, Any]) -> None:
        """Store a hire once; after its reversal, a hire told with another `hired_at` is the
        member hired again and takes its place."""
        statement = insert(Hire).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[col(Hire.team_member_id)],
                set_={
                    "requisition_id": statement.excluded.requisition_id,
                    "application_id": statement.excluded.application_id,
                    "hired_at": statement.excluded.hired_at,
                    "start_date": statement.excluded.start_date,
                    "reversed_at": None,
                },
                where=col(Hire.reversed_at).is_not(None)
                & (col(Hire.hired_at) != statement.excluded.hired_at),
            )
        )

    async def reverse_hire(self, values: dict[str, Any]) -> None:
        """Mark the hire taken back, if it is the one kept; kept reversed if it comes first,
        so the hire told after it changes nothing."""
        statement = insert(Hire).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[col(Hire.team_member_id)],
                set_={"reversed_at": statement.excluded.reversed_at},
                where=(col(Hire.hired_at) == statement.excluded.hired_at)
                & col(Hire.reversed_at).is_(None),
            )
        )

    async def parties(self, engagement_id: UUID) -> tuple[UUID, UUID] | None:
        """The engagement's client and partner, as the latest fact about it told them."""
        row = (
            await self.session.execute(
                select(HeadcountReading.client_id, HeadcountReading.partner_id)
                .where(HeadcountReading.engagement_id == engagement_id)
                .union_all(
                    select(Hire.client_id, Hire.partner_id).where(
                        Hire.engagement_id == engagement_id
                    ),
                    select(Offer.client_id, Offer.partner_id).where(
                        Offer.engagement_id == engagement_id
                    ),
                    select(CompletedOnboarding.client_id, CompletedOnboarding.partner_id).where(
                        CompletedOnboarding.engagement_id == engagement_id
                    ),
                    select(Termination.client_id, Termination.partner_id).where(
                        Termination.engagement_id == engagement_id
                    ),
                )
                .limit(1)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def engagements_hiring_from(self, requisition_id: UUID) -> list[UUID]:
        """The engagements with hires against a requisition (one, unless talent was wrong)."""
        statement = select(Hire.engagement_id).where(Hire.requisition_id == requisition_id)
        return list(set((await self.session.scalars(statement.distinct())).all()))

    async def time_to_hire(self, engagement_id: UUID) -> list[tuple[date, float]]:
        hired, opened = col(Hire.hired_at), col(OpenedRequisition.opened_at)
        days = func.greatest(func.extract("epoch", hired - opened), 0) / SECONDS_PER_DAY
        month = _month(hired).label("month")
        statement = (
            select(month, func.avg(days))
            .select_from(Hire)
            .join(OpenedRequisition, col(OpenedRequisition.requisition_id) == Hire.requisition_id)
            .where(Hire.engagement_id == engagement_id, col(Hire.reversed_at).is_(None))
            .group_by(month)
        )
        return await self._series(statement)

    async def offer_acceptance(self, engagement_id: UUID) -> list[tuple[date, float]]:
        month = _month(col(Offer.decided_at)).label("month")
        accepted = func.count().filter(col(Offer.accepted).is_(True))
        statement = (
            select(month, 100.0 * accepted / func.count())
            .where(Offer.engagement_id == engagement_id, col(Offer.decided_at).is_not(None))
            .group_by(month)
        )
        return await self._series(statement)

    async def onboarding_time(self, engagement_id: UUID) -> list[tuple[date, float]]:
        completed = col(CompletedOnboarding.completed_on)
        month = _month_of_date(completed).label("month")
        days = func.greatest(completed - col(CompletedOnboarding.start_date), 0)
        statement = (
            select(month, func.avg(cast(days, Float)))
            .where(CompletedOnboarding.engagement_id == engagement_id)
            .group_by(month)
        )
        return await self._series(statement)

    async def headcount_readings(self, engagement_id: UUID) -> list[tuple[datetime, int]]:
        statement = (
            select(HeadcountReading.as_of, HeadcountReading.headcount)
            .where(HeadcountReading.engagement_id == engagement_id)
            .order_by(col(HeadcountReading.as_of))
        )
        return [(row[0], row[1]) for row in (await self.session.execute(statement)).all()]

    async def terminations(self, engagement_id: UUID) -> list[tuple[date, date | None]]:
        """Each leaver's last day, and the start date of their hire if it was told."""
        statement = (
            select(col(Termination.terminated_on), col(Hire.start_date))
            .select_from(Termination)
            .outerjoin(Hire, col(Hire.team_member_id) == Termination.team_member_id)
            .where(Termination.engagement_id == engagement_id)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(statement)).all()]

    async def _series(self, statement: Any) -> list[tuple[date, float]]:
        rows: Sequence[Any] = (
            await self.session.execute(statement.order_by(literal_column("month")))
        ).all()
        return [(row[0], float(row[1])) for row in rows]
