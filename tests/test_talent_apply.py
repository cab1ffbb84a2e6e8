"""apply_hiring_event, directly: canonical HRIS events in any order, and twice, converge."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from sqlalchemy import text
from sqlalchemy.engine import URL

from handover_kit.db import Database, Tenancy
from handover_shared.hiring_events import HiringEvent
from handover_talent.config import Settings
from handover_talent.db import MESSAGING
from handover_talent.pipeline.apply import EventContext, EventRejected, apply_hiring_event
from handover_talent.requisitions.repository import RequisitionRepository
from tests import builders
from tests.conftest import Services, as_service
from tests.identity import SERVICE_SETTINGS

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
JOB = "GH-7781"
EVENTS: TypeAdapter[HiringEvent] = TypeAdapter(HiringEvent)


def _event(kind: str, n: int, candidate: str, application: str, **fields: Any) -> HiringEvent:
    return EVENTS.validate_python(
        {
            "kind": kind,
            "event_id": f"{application}-{kind}-{n}",
            "occurred_at": T0 + timedelta(days=n),
            "candidate": {"external_id": candidate, "name": "Ana Reyes"},
            **({"application_id": application, "job_id": JOB} if application else {}),
            **fields,
        }
    )


HIRED = [
    _event("application.created", 0, "c1", "a1"),
    _event("application.stage_changed", 1, "c1", "a1", stage="screening"),
    _event("application.stage_changed", 2, "c1", "a1", stage="interview"),
    _event("offer.created", 3, "c1", "a1"),
    _event("offer.accepted", 4, "c1", "a1", start_date=date(2026, 3, 2)),
    _event("candidate.hired", 5, "c1", "a1", start_date=date(2026, 3, 2)),
    _event("employee.onboarded", 30, "c1", "", completed_on=date(2026, 3, 20)),
]
REJECTED = [
    _event("application.created", 0, "c2", "a2"),
    _event("application.stage_changed", 1, "c2", "a2", stage="screening"),
    _event("candidate.rejected", 2, "c2", "a2", reason="Not enough claims experience"),
]
ALL = HIRED + REJECTED


class Pipeline:
    def __init__(self, db: Database, engagement: dict[str, Any]) -> None:
        self.db = db
        self.engagement = engagement

    def context(self, source_id: UUID) -> EventContext:
        return EventContext(
            source_id=source_id,
            engagement_id=UUID(self.engagement["id"]),
            client_id=UUID(self.engagement["client_id"]),
            partner_id=UUID(self.engagement["partner_id"]),
        )

    async def apply(self, source_id: UUID, *events: HiringEvent) -> None:
        """Each event in a transaction of its own, as the ingestion processor applies them."""
        for event in events:
            tenancy = Tenancy(tenant=UUID(self.engagement["partner_id"]))
            async with self.db.session(tenancy) as session, session.begin():
                publisher = MESSAGING.publisher(session, source="talent")
                await apply_hiring_event(session, publisher, self.context(source_id), event)

    async def state(self, source_id: UUID) -> dict[str, Any]:
        """What the source's events made, without the ids the database drew."""
        async with self.db.session(Tenancy(all_tenants=True)) as session, session.begin():
            applications = (
                await session.execute(
                    text(
                        "SELECT a.external_id, a.stage, a.stage_entered_at, a.offer_made_at,"
                        " a.offer_decided_at, a.offer_accepted, a.hired_at, a.start_date"
                        " FROM talent.applications a WHERE a.source_id = :source"
                        " ORDER BY a.external_id"
                    ),
                    {"source": source_id},
                )
            ).all()
            members = (
                await session.execute(
                    text(
                        "SELECT c.external_id, m.status, m.start_date, m.hired_at,"
                        " m.onboarded_on, m.terminated_on, m.voluntary"
                        " FROM talent.team_members m JOIN talent.candidates c"
                        " ON c.id = m.candidate_id WHERE c.source_id = :source"
                        " ORDER BY c.external_id"
                    ),
                    {"source": source_id},
                )
            ).all()
            facts = (
                await session.execute(
                    text(
                        "SELECT o.message_type, count(*) FROM talent.outbox o"
                        " WHERE o.aggregate_id IN ("
                        "  SELECT id FROM talent.applications WHERE source_id = :source"
                        "  UNION SELECT m.id FROM talent.team_members m JOIN talent.candidates c"
                        "  ON c.id = m.candidate_id WHERE c.source_id = :source)"
                        " GROUP BY o.message_type ORDER BY o.message_type"
                    ),
                    {"source": source_id},
                )
            ).all()
            history = await session.scalar(
                text("SELECT count(*) FROM talent.pipeline_events WHERE source_id = :source"),
                {"source": source_id},
            )
        return {
            "applications": [tuple(row) for row in applications],
            "members": [tuple(row) for row in members],
            "facts": [tuple(row) for row in facts],
            "history": history,
        }


@pytest.fixture
async def pipeline(services: Services, database_url: URL) -> AsyncIterator[Pipeline]:
    engagement = await builders.create_engagement(services.engagements)
    await builders.open_requisition(
        services.talent, engagement["id"], headcount=50, external_job_id=JOB
    )
    db = Database(
        Settings.with_database(as_service(database_url), **SERVICE_SETTINGS), "test-apply"
    )
    try:
        yield Pipeline(db, engagement)
    finally:
        await db.dispose()


async def test_events_in_order_hire_the_candidate_and_tell_each_fact_once(
    pipeline: Pipeline,
) -> None:
    source = uuid4()
    await pipeline.apply(source, *ALL)
    state = await pipeline.state(source)
    assert [(row[0], row[1]) for row in state["applications"]] == [
        ("a1", "hired"),
        ("a2", "rejected"),
    ]
    assert state["applications"][0][5] is True
    assert [(row[0], row[1], row[4]) for row in state["members"]] == [
        ("c1", "active", date(2026, 3, 20))
    ]
    assert state["facts"] == [
        ("talent.member_hired", 1),
        ("talent.offer_decided", 1),
        ("talent.offer_made", 1),
        ("talent.onboarding_completed", 1),
    ]
    assert state["history"] == len(ALL)


async def test_an_event_applied_twice_changes_nothing(pipeline: Pipeline) -> None:
    source = uuid4()
    await pipeline.apply(source, *HIRED)
    once = await pipeline.state(source)
    await pipeline.apply(source, *HIRED)
    assert await pipeline.state(source) == once


async def test_an_offer_accepted_before_its_interview_ends_as_in_order(
    pipeline: Pipeline,
) -> None:
    in_order, reversed_ = uuid4(), uuid4()
    await pipeline.apply(in_order, *HIRED[:5])
    await pipeline.apply(reversed_, *reversed(HIRED[:5]))
    assert await pipeline.state(reversed_) == await pipeline.state(in_order)
    assert (await pipeline.state(in_order))["applications"][0][1] == "offer"


async def test_an_event_for_a_job_no_requisition_names_is_rejected_with_the_reason(
    pipeline: Pipeline,
) -> None:
    stray = _event("application.created", 0, "c9", "a9").model_copy(update={"job_id": "nope"})
    with pytest.raises(EventRejected) as rejected:
        await pipeline.apply(uuid4(), stray)
    assert "'nope'" in rejected.value.reason
    assert "external_job_id" in rejected.value.reason


async def test_an_employee_event_before_the_hire_waits_for_it(pipeline: Pipeline) -> None:
    source = uuid4()
    left = _event(
        "employee.terminated", 60, "c1", "", terminated_on=date(2026, 4, 30), voluntary=True
    )
    await pipeline.apply(source, left, *HIRED)
    members = (await pipeline.state(source))["members"]
    assert [(row[1], row[5], row[6]) for row in members] == [
        ("terminated", date(2026, 4, 30), True)
    ]


async def test_a_hire_taken_back_reverses_the_member(pipeline: Pipeline) -> None:
    source = uuid4()
    unhired = _event("candidate.unhired", 6, "c1", "a1")
    await pipeline.apply(source, *HIRED[:6], unhired)
    state = await pipeline.state(source)
    assert state["applications"][0][1] == "offer"
    assert state["applications"][0][6] is None
    assert [row[1] for row in state["members"]] == ["reversed"]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(order=st.permutations(range(len(ALL) + 1)))
async def test_the_same_events_in_any_order_converge_on_the_same_state(
    pipeline: Pipeline, order: list[int]
) -> None:
    # The last index stands for a redelivery of the hire: twice changes nothing either.
    events = [*ALL, ALL[5]]
    reference = uuid4()
    await pipeline.apply(reference, *ALL)
    shuffled = uuid4()
    await pipeline.apply(shuffled, *(events[i] for i in order))
    assert await pipeline.state(shuffled) == await pipeline.state(reference)


async def test_an_erased_candidate_stays_erased_whatever_the_source_sends_later(
    pipeline: Pipeline, services: Services
) -> None:
    source = uuid4()
    await pipeline.apply(source, *REJECTED[:1])
    async with pipeline.db.session(Tenancy(all_tenants=True)) as session, session.begin():
        candidate_id = await session.scalar(
            text("SELECT id FROM talent.candidates WHERE source_id = :source"), {"source": source}
        )
    erased = await services.talent.post(f"/v1/candidates/{candidate_id}/erasure")
    assert erased.status_code == 200, erased.text
    await pipeline.apply(source, *REJECTED[1:])
    after = (await services.talent.get(f"/v1/candidates/{candidate_id}")).json()
    assert (after["name"], after["email"], after["external_id"]) == (None, None, "c2")
    assert (await pipeline.state(source))["applications"][0][1] == "rejected"


async def test_hires_for_one_requisition_wait_for_each_other_but_not_for_rows_that_reference_it(
    services: Services, database_url: URL
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    requisition = UUID((await builders.open_requisition(services.talent, engagement["id"]))["id"])
    db = Database(Settings.with_database(as_service(database_url)), "test")
    # What inserting an application or a member for the requisition takes.
    key_share = text("SELECT 1 FROM talent.requisitions WHERE id = :id FOR KEY SHARE")
    try:
        everyone = Tenancy(all_tenants=True)
        async with db.session(everyone) as first, db.session(everyone) as second:
            for session in (first, second):
                await session.execute(key_share, {"id": requisition})
            async with asyncio.timeout(5):
                assert await RequisitionRepository(first).for_counting(requisition) is not None
            waiting = asyncio.create_task(RequisitionRepository(second).for_counting(requisition))
            await asyncio.sleep(0.2)
            assert not waiting.done()
            await first.commit()
            async with asyncio.timeout(5):
                assert await waiting is not None
    finally:
        await db.dispose()
