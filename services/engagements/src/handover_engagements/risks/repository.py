from uuid import UUID

from sqlalchemy import tuple_
from sqlmodel import col, select

from handover_engagements.risks.models import Risk
from handover_engagements.risks.schemas import SEVERITY_MAX, RiskStatus
from handover_kit.pagination import InvalidCursor, PageRequest, next_cursor
from handover_kit.repository import Repository


def _position(cursor: str) -> tuple[int, UUID]:
    """The (severity, id) of the last risk of the previous page, from `severity:id`."""
    severity, _, risk_id = cursor.partition(":")
    try:
        position = int(severity), UUID(risk_id)
    except ValueError:
        position = None
    if position is None or not 1 <= position[0] <= SEVERITY_MAX:
        raise InvalidCursor("The cursor is not one this API issued; start again without it.")
    return position


class RiskRepository(Repository[Risk]):
    model = Risk

    async def list(
        self,
        engagement_id: UUID,
        page: PageRequest,
        *,
        status: RiskStatus | None,
        min_severity: int | None,
    ) -> tuple[list[Risk], str | None]:
        """Most severe first; among equals, newest first (ids are UUIDv7), so the order is
        total and a cursor resumes exactly where the previous page ended."""
        order = tuple_(col(Risk.severity), col(Risk.id))
        statement = select(Risk).where(col(Risk.engagement_id) == engagement_id)
        if status is not None:
            statement = statement.where(col(Risk.status) == status)
        if min_severity is not None:
            statement = statement.where(col(Risk.severity) >= min_severity)
        if page.after is not None:
            statement = statement.where(order < tuple_(*_position(page.after)))
        rows = list(
            (
                await self.session.scalars(
                    statement.order_by(col(Risk.severity).desc(), col(Risk.id).desc()).limit(
                        page.limit + 1
                    )
                )
            ).all()
        )
        keys = [f"{row.severity}:{row.id}" for row in rows]
        return rows[: page.limit], next_cursor(keys, page.limit)

    async def of(
        self, engagement_id: UUID, risk_id: UUID, *, for_update: bool = False
    ) -> Risk | None:
        statement = select(Risk).where(
            col(Risk.id) == risk_id, col(Risk.engagement_id) == engagement_id
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).first()

    async def save(self, risk: Risk) -> Risk:
        self.session.add(risk)
        await self.session.flush()
        await self.session.refresh(risk)
        return risk
