import re
from collections.abc import AsyncIterable, AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from handover_kit.auth import Principal
from handover_kit.pagination import InvalidCursor, PageRequest, encode_cursor
from handover_kpi.clients.engagements import EngagementsClient
from handover_kpi.config import Settings
from handover_kpi.errors import DataPointNotFound, MalformedUpload, PointsRejected
from handover_kpi.points.ingest import (
    LineChecker,
    Parties,
    Report,
    UnreadableUpload,
    csv_rows,
    ndjson_rows,
)
from handover_kpi.points.models import DataPoint, DataPointRevision
from handover_kpi.points.repository import Change, ChangePosition, PointFilter, PointRepository
from handover_kpi.points.schemas import IngestResult
from handover_kpi.points.store import StagedRow, merge_staged, open_staging, stage

START = ChangePosition(txid=0, seq=0)
_POSITION = re.compile(r"^(\d{1,19}):(\d{1,19})$")
_INVALID = "The cursor is not one this API issued; start again without it."

RowSource = Callable[[LineChecker], AsyncIterable[StagedRow]]


def encode_position(position: ChangePosition) -> str:
    return encode_cursor(f"{position.txid}:{position.seq}")


def decode_position(after: str) -> ChangePosition:
    """The position a decoded cursor names."""
    match = _POSITION.match(after)
    if match is None or max(int(match.group(1)), int(match.group(2))) >= 2**63:
        raise InvalidCursor(_INVALID)
    return ChangePosition(txid=int(match.group(1)), seq=int(match.group(2)))


class PointService:
    def __init__(
        self,
        session: AsyncSession,
        engagements: EngagementsClient,
        principal: Principal,
        settings: Settings,
    ) -> None:
        self.session = session
        self.repository = PointRepository(session)
        self.engagements = engagements
        self.principal = principal
        self.settings = settings

    async def ingest_json(self, points: list[dict[str, Any]]) -> IngestResult:
        async def rows(checker: LineChecker) -> AsyncIterator[StagedRow]:
            for number, fields in enumerate(points, start=1):
                row = await checker.check(number, fields)
                if row is not None:
                    yield row

        return await self._ingest(rows)

    async def ingest_ndjson(self, body: AsyncIterable[bytes]) -> IngestResult:
        return await self._ingest(
            lambda checker: ndjson_rows(body, checker, self.settings.ingest_max_line_bytes)
        )

    async def ingest_csv(self, body: AsyncIterable[bytes]) -> IngestResult:
        return await self._ingest(
            lambda checker: csv_rows(body, checker, self.settings.ingest_max_line_bytes)
        )

    async def _ingest(self, rows: RowSource) -> IngestResult:
        report = Report(limit=self.settings.ingest_max_errors)
        checker = LineChecker(
            await self.repository.units(),
            self._parties,
            now=datetime.now(UTC),
            max_future=timedelta(hours=self.settings.point_max_future_hours),
            report=report,
        )
        # The COPY lasts as long as the upload: the usual statement timeout would cut it off.
        connection = await open_staging(
            self.session, statement_timeout_ms=self.settings.ingest_statement_timeout_ms
        )
        try:
            await stage(connection, rows(checker))
        except UnreadableUpload as exc:
            raise MalformedUpload(str(exc)) from None
        counts = await merge_staged(self.session)
        result = IngestResult(
            accepted=counts.accepted,
            replaced=counts.replaced,
            unchanged=counts.unchanged,
            rejected=report.rejected,
            errors=report.errors,
            errors_omitted=report.omitted,
        )
        if result.rejected and not (result.accepted or result.replaced or result.unchanged):
            # `errors` of a problem are field errors of the request: the lines go apart.
            answer = result.model_dump(mode="json")
            raise PointsRejected(
                f"All {result.rejected} lines were rejected; nothing was written.",
                line_errors=answer.pop("errors"),
                **answer,
            )
        return result

    async def _parties(self, engagement_id: UUID) -> Parties | None:
        engagement = await self.engagements.visible_engagement(engagement_id, self.principal)
        return None if engagement is None else (engagement.client_id, engagement.partner_id)

    async def get(self, point_id: UUID) -> DataPoint:
        point = await self.repository.get(point_id)
        if point is None:
            raise DataPointNotFound(f"No data point {point_id}.")
        return point

    async def page(
        self, filters: PointFilter, page: PageRequest
    ) -> tuple[list[DataPoint], str | None]:
        return await self.repository.page(filters, page)

    async def revisions(
        self, point_id: UUID, page: PageRequest
    ) -> tuple[list[DataPointRevision], str | None]:
        await self.get(point_id)
        after: int | None = None
        if page.after is not None:
            if not page.after.isdigit() or len(page.after) > 9:
                raise InvalidCursor(_INVALID)
            after = int(page.after)
        return await self.repository.revisions(point_id, page, after)

    async def changes(
        self, cursor: str | None, engagement_id: UUID | None, limit: int
    ) -> tuple[list[Change], ChangePosition]:
        """Up to `limit` changes after the (decoded) cursor, and the position to pull from
        next."""
        after = decode_position(cursor) if cursor else START
        changes = await self.repository.changes(after, engagement_id, limit)
        return changes, changes[-1].position if changes else after
