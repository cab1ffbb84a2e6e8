from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from handover_kit.pagination import PageRequest
from handover_kit.repository import Repository
from handover_shared.hiring_events import ApplicationStage
from handover_talent.pipeline.history import EMPLOYEE_KINDS, Entry
from handover_talent.pipeline.models import Application, Candidate, PipelineEvent


def _entry(row: PipelineEvent) -> Entry:
    return Entry(
        kind=row.kind,
        occurred_at=row.occurred_at,
        event_key=row.event_key,
        stage=row.stage,
        details=row.details,
    )


FromSource = TypeVar("FromSource", Candidate, Application)


async def _insert_new(
    session: AsyncSession, row: FromSource, generated: set[str]
) -> FromSource | None:
    """`row` as inserted, or None if the source's record of that external id is there already
    (a concurrent event inserted it first). `generated`: the columns the database draws."""
    model = type(row)
    statement = (
        insert(model)
        .values(**row.model_dump(exclude=generated))
        .on_conflict_do_nothing(index_elements=["source_id", "external_id"])
        .returning(model)
    )
    inserted: FromSource | None = (await session.scalars(statement)).one_or_none()
    return inserted


_HISTORY = PipelineEvent.metadata.tables["talent.pipeline_events"]
# Built once, executed with each event's values: building it (coercing every value) cost more
# than running it.
_RECORD = (
    insert(_HISTORY)
    .values(
        {
            column.name: bindparam(column.name, type_=column.type)
            for column in _HISTORY.columns
            if column.name not in ("id", "recorded_at")
        }
    )
    .on_conflict_do_nothing(index_elements=["candidate_id", "event_key"])
    .returning(_HISTORY.c.id)
)


class CandidateRepository(Repository[Candidate]):
    model = Candidate

    async def by_external_id(
        self, source_id: UUID, external_id: str, *, for_update: bool = False
    ) -> Candidate | None:
        statement = select(Candidate).where(
            col(Candidate.source_id) == source_id,
            col(Candidate.external_id) == external_id,
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def add_from_source(self, candidate: Candidate) -> Candidate:
        """The source's candidate, inserted unless a concurrent event inserted it first; held
        until the transaction ends either way (see `lock`)."""
        inserted = await _insert_new(
            self.session, candidate, {"id", "created_at", "updated_at", "erased_at"}
        )
        if inserted is not None:  # a row this transaction inserted is its own until it ends
            return inserted
        assert candidate.source_id is not None
        assert candidate.external_id is not None
        found = await self.by_external_id(
            candidate.source_id, candidate.external_id, for_update=True
        )
        assert found is not None
        return found

    async def lock(self, candidate_id: UUID) -> None:
        """Hold the candidate until the transaction ends: everything that happens to a person
        is applied one event at a time, so each one derives from all that came before."""
        await self.session.execute(
            select(col(Candidate.id)).where(col(Candidate.id) == candidate_id).with_for_update()
        )

    async def save(self, candidate: Candidate) -> Candidate:
        await self.session.flush()
        await self.session.refresh(candidate)
        return candidate

    async def list(
        self, page: PageRequest, *, engagement_id: UUID | None
    ) -> tuple[list[Candidate], str | None]:
        return await self.page(
            page,
            key=col(Candidate.id),
            after=page.after_id(),
            equal={col(Candidate.engagement_id): engagement_id},
        )


class ApplicationRepository(Repository[Application]):
    model = Application

    async def by_external_id(self, source_id: UUID, external_id: str) -> Application | None:
        return (
            await self.session.scalars(
                select(Application).where(
                    col(Application.source_id) == source_id,
                    col(Application.external_id) == external_id,
                )
            )
        ).one_or_none()

    async def add_from_source(self, application: Application) -> Application:
        inserted = await _insert_new(self.session, application, {"id", "created_at", "updated_at"})
        if inserted is not None:
            return inserted
        assert application.source_id is not None
        assert application.external_id is not None
        found = await self.by_external_id(application.source_id, application.external_id)
        assert found is not None
        return found

    async def list(
        self,
        page: PageRequest,
        *,
        requisition_id: UUID | None,
        candidate_id: UUID | None,
        stage: ApplicationStage | None,
    ) -> tuple[list[Application], str | None]:
        return await self.page(
            page,
            key=col(Application.id),
            after=page.after_id(),
            equal={
                col(Application.requisition_id): requisition_id,
                col(Application.candidate_id): candidate_id,
                col(Application.stage): stage,
            },
        )


class HistoryRepository(Repository[PipelineEvent]):
    model = PipelineEvent

    async def record(self, event: PipelineEvent) -> bool:
        """Whether the event is new: one already recorded under its key changes nothing."""
        values = event.model_dump(exclude={"id", "recorded_at"})
        return await self.session.scalar(_RECORD, values) is not None

    async def of_application(self, application_id: UUID) -> list[PipelineEvent]:
        return list(
            (
                await self.session.scalars(
                    select(PipelineEvent)
                    .where(col(PipelineEvent.application_id) == application_id)
                    .where(col(PipelineEvent.kind).not_in(EMPLOYEE_KINDS))
                    .order_by(col(PipelineEvent.occurred_at), col(PipelineEvent.id))
                )
            ).all()
        )

    async def employment_of(self, candidate_id: UUID, application_id: UUID) -> list[Entry]:
        """The employee events that concern the hire of this application: the source's (which
        name only the person) and the API's about this hire."""
        rows = await self.session.scalars(
            select(PipelineEvent).where(
                col(PipelineEvent.candidate_id) == candidate_id,
                col(PipelineEvent.kind).in_(EMPLOYEE_KINDS),
                (col(PipelineEvent.application_id).is_(None))
                | (col(PipelineEvent.application_id) == application_id),
            )
        )
        return [_entry(row) for row in rows]


def entries(rows: Sequence[PipelineEvent]) -> list[Entry]:
    return [_entry(row) for row in rows]
