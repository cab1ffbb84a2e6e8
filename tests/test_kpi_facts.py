"""Talent's facts become derived metrics with no manual entry: sent through kpi's real
receiving endpoint as talent sends them, and read back through the scorecard."""

import asyncio
import random
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy.engine import URL

from handover_kit.db import dsn
from handover_kpi.config import Settings as KpiSettings
from handover_kpi.hiring.derive import retention_and_attrition
from handover_shared.messages import MESSAGES_PATH, MessageType
from handover_shared.talent import (
    HEADCOUNT_CHANGED,
    HIRE_REVERSED,
    MEMBER_HIRED,
    MEMBER_TERMINATED,
    OFFER_DECIDED,
    OFFER_MADE,
    ONBOARDING_COMPLETED,
    REQUISITION_FILLED,
    REQUISITION_OPENED,
)
from tests import builders
from tests.conftest import Services, as_service
from tests.sql import fetch


class Talent:
    """Facts about one engagement, as talent would tell them."""

    def __init__(self, client: httpx.AsyncClient, engagement: dict[str, Any]) -> None:
        self.client = client
        self.parties = {
            "engagement_id": engagement["id"],
            "client_id": engagement["client_id"],
            "partner_id": engagement["partner_id"],
        }

    def fact(self, kind: MessageType[Any], aggregate_id: UUID, **payload: Any) -> dict[str, Any]:
        model: type[BaseModel] = kind.payload
        fact = model.model_validate({**self.parties, **payload})
        envelope = kind.envelope(fact, source="talent", aggregate_id=aggregate_id)
        return envelope.model_dump(mode="json")

    async def tell(self, *facts: dict[str, Any]) -> None:
        for fact in facts:
            response = await self.client.post(MESSAGES_PATH, json=fact)
            assert response.status_code == 200, response.text

    def opened(self, requisition_id: UUID, opened_at: str) -> dict[str, Any]:
        return self.fact(
            REQUISITION_OPENED,
            requisition_id,
            requisition_id=requisition_id,
            title="Claims analyst",
            headcount=2,
            opened_at=opened_at,
        )

    def filled(self, requisition_id: UUID, filled_at: str) -> dict[str, Any]:
        return self.fact(
            REQUISITION_FILLED, requisition_id, requisition_id=requisition_id, filled_at=filled_at
        )

    def hired(
        self,
        member_id: UUID,
        hired_at: str,
        start_date: str,
        requisition_id: UUID | None = None,
    ) -> dict[str, Any]:
        return self.fact(
            MEMBER_HIRED,
            member_id,
            team_member_id=member_id,
            requisition_id=requisition_id,
            hired_at=hired_at,
            start_date=start_date,
        )

    def hire_reversed(
        self,
        member_id: UUID,
        hired_at: str,
        requisition_id: UUID | None = None,
        reversed_at: str = "2026-03-01T00:00:00Z",
    ) -> dict[str, Any]:
        return self.fact(
            HIRE_REVERSED,
            member_id,
            team_member_id=member_id,
            requisition_id=requisition_id,
            hired_at=hired_at,
            start_date=hired_at[:10],
            reversed_at=reversed_at,
        )

    def offer_made(self, application_id: UUID, made_at: str) -> dict[str, Any]:
        return self.fact(
            OFFER_MADE,
            application_id,
            application_id=application_id,
            requisition_id=uuid4(),
            made_at=made_at,
        )

    def offer_decided(
        self, application_id: UUID, decided_at: str, *, accepted: bool
    ) -> dict[str, Any]:
        return self.fact(
            OFFER_DECIDED,
            application_id,
            application_id=application_id,
            requisition_id=uuid4(),
            accepted=accepted,
            decided_at=decided_at,
        )

    def onboarded(self, member_id: UUID, start_date: str, completed_on: str) -> dict[str, Any]:
        return self.fact(
            ONBOARDING_COMPLETED,
            member_id,
            team_member_id=member_id,
            start_date=start_date,
            completed_on=completed_on,
        )

    def terminated(self, member_id: UUID, terminated_on: str) -> dict[str, Any]:
        return self.fact(
            MEMBER_TERMINATED,
            member_id,
            team_member_id=member_id,
            terminated_on=terminated_on,
            voluntary=True,
        )

    def headcount(self, headcount: int, as_of: str) -> dict[str, Any]:
        return self.fact(
            HEADCOUNT_CHANGED,
            UUID(self.parties["engagement_id"]),
            headcount=headcount,
            as_of=as_of,
        )


async def latest(
    services: Services, engagement: dict[str, Any], metric: str
) -> tuple[Any, Any, Any]:
    """The metric's latest engagement-wide value, when it was measured and the one before it,
    as the scorecard shows them under a target that anything meets."""
    engagement_id = engagement["id"]
    listed = await services.kpi.get(
        "/v1/targets", params={"engagement_id": engagement_id, "metric_key": metric}
    )
    if not listed.json()["items"]:
        created = await services.kpi.post(
            "/v1/targets",
            json={
                "engagement_id": engagement_id,
                "metric_key": metric,
                "comparator": "gte",
                "threshold": -1,
                "effective_from": "2020-01-01T00:00:00Z",
            },
        )
        assert created.status_code == 201, created.text
    scorecard = await services.kpi.get(f"/v1/scorecards/{engagement_id}")
    assert scorecard.status_code == 200, scorecard.text
    [line] = [line for line in scorecard.json()["lines"] if line["metric_key"] == metric]
    return line["value_at"], line["value"], line["previous_value"]


@pytest.fixture
async def engagement(services: Services) -> dict[str, Any]:
    return await builders.create_engagement(services.engagements)


@pytest.fixture
def talent(as_talent: httpx.AsyncClient, engagement: dict[str, Any]) -> Talent:
    return Talent(as_talent, engagement)


async def test_time_to_hire_is_the_mean_days_from_opening_to_hire_per_month(
    services: Services, engagement: dict[str, Any], talent: Talent
) -> None:
    january, february = uuid4(), uuid4()
    await talent.tell(
        talent.opened(january, "2026-01-01T09:00:00Z"),
        talent.hired(uuid4(), "2026-01-11T09:00:00Z", "2026-01-12", january),
        talent.hired(uuid4(), "2026-01-21T09:00:00Z", "2026-01-22", january),
        talent.opened(february, "2026-02-01T00:00:00Z"),
        talent.hired(uuid4(), "2026-02-15T00:00:00Z", "2026-02-16", february),
        # Added without a requisition: no clock to read.
        talent.hired(uuid4(), "2026-02-20T00:00:00Z", "2026-02-21"),
    )
    assert await latest(services, engagement, "time_to_hire") == (
        "2026-02-01T00:00:00Z",
        14.0,
        15.0,
    )


async def test_a_hire_told_before_its_requisitions_opening_is_counted_once_it_arrives(
    services: Services, engagement: dict[str, Any], talent: Talent
) -> None:
    requisition = uuid4()
    await talent.tell(talent.hired(uuid4(), "2026-03-11T00:00:00Z", "2026-03-12", requisition))
    assert await latest(services, engagement, "time_to_hire") == (None, None, None)
    await talent.tell(talent.opened(requisition, "2026-03-01T00:00:00Z"))
    assert await latest(services, engagement, "time_to_hire") == (
        "2026-03-01T00:00:00Z",
        10.0,
        None,
    )


async def test_a_hire_taken_back_no_longer_counts_in_time_to_hire(
    services: Services, engagement: dict[str, Any], talent: Talent
) -> None:
    requisition, kept, taken_back = uuid4(), uuid4(), uuid4()
    await talent.tell(
        talent.opened(requisition, "2026-01-01T00:00:00Z"),
        talent.hired(taken_back, "2026-01-11T00:00:00Z", "2026-01-12", requisition),
        talent.hired(kept, "2026-01-21T00:00:00Z", "2026-01-22", requisition),
    )
    assert (await latest(services, engagement, "time_to_hire"))[1] == 15.0
    await talent.tell(talent.hire_reversed(taken_back, "2026-01-11T00:00:00Z", requisition))
    assert (await latest(services, engagement, "time_to_hire"))[:2] == (
        "2026-01-01T00:00:00Z",
        20.0,
    )


async def test_a_month_whose_only_hire_was_taken_back_loses_its_time_to_hire(
    services: Services, engagement: dict[str, Any], talent: Talent
) -> None:
    requisition, january, february = uuid4(), uuid4(), uuid4()
    await talent.tell(
        talent.opened(requisition, "2026-01-01T00:00:00Z"),
        talent.hired(january, "2026-01-11T00:00:00Z", "2026-01-12", requisition),
        talent.hired(february, "2026-02-11T00:00:00Z", "2026-02-12", requisition),
    )
    assert await latest(services, engagement, "time_to_hire") == (
        "2026-02-01T00:00:00Z",
        41.0,
        10.0,
    )
    await talent.tell(talent.hire_reversed(february, "2026-02-11T00:00:00Z", requisition))
    assert await latest(services, engagement, "time_to_hire") == (
        "2026-01-01T00:00:00Z",
        10.0,
        None,
    )


async def test_a_member_hired_again_after_a_reversal_counts_with_the_new_hire(
    services: Services, engagement: dict[str, Any], talent: Talent, database_url: URL
) -> None:
    requisition, member = uuid4(), uuid4()
    await talent.tell(
        talent.opened(requisition, "2026-01-01T00:00:00Z"),
        talent.hired(member, "2026-01-11T00:00:00Z", "2026-01-12", requisition),
        talent.hire_reversed(member, "2026-01-11T00:00:00Z", requisition),
    )
    assert await latest(services, engagement, "time_to_hire") == (None, None, None)
    await talent.tell(talent.hired(member, "2026-01-21T00:00:00Z", "2026-01-22", requisition))
    assert await latest(services, engagement, "time_to_hire") == (
        "2026-01-01T00:00:00Z",
        20.0,
        None,
    )
    # A reversal of the earlier hire, told again, does not take back the hire that replaced it.
    await talent.tell(talent.hire_reversed(member, "2026-01-11T00:00:00Z", requisition))
    assert (await latest(services, engagement, "time_to_hire"))[1] == 20.0
    rows = await fetch(database_url, "SELECT hired_at, reversed_at FROM kpi.hires")
    assert [(row["hired_at"].day, row["reversed_at"]) for row in rows] == [(21, None)]


async def test_a_reversal_told_before_its_hire_leaves_the_hire_uncounted(
    services: Services, engagement: dict[str, Any], talent: Talent
) -> None:
    requisition, member = uuid4(), uuid4()
    await talent.tell(
        talent.opened(requisition, "2026-01-01T00:00:00Z"),
        talent.hire_reversed(member, "2026-01-11T00:00:00Z", requisition),
        talent.hired(member, "2026-01-11T00:00:00Z", "2026-01-12", requisition),
    )
    assert await latest(services, engagement, "time_to_hire") == (None, None, None)


async def test_offer_acceptance_is_accepted_over_decided_offers_per_month(
    services: Services, engagement: dict[str, Any], talent: Talent
) -> None:
    first, second, third, undecided = uuid4(), uuid4(), uuid4(), uuid4()
    await talent.tell(
        talent.offer_made(first, "2026-02-20T00:00:00Z"),
        talent.offer_decided(first, "2026-02-25T00:00:00Z", accepted=True),
        talent.offer_made(second, "2026-03-01T00:00:00Z"),
        talent.offer_decided(second, "2026-03-03T00:00:00Z", accepted=True),
        talent.offer_made(third, "2026-03-02T00:00:00Z"),
        talent.offer_decided(third, "2026-03-04T00:00:00Z", accepted=False),
        talent.offer_made(undecided, "2026-03-05T00:00:00Z"),
        # A decision told without its offer's making still counts.
        talent.offer_decided(uuid4(), "2026-03-06T00:00:00Z", accepted=False),
    )
    assert await latest(services, engagement, "offer_acceptance_rate") == (
        "2026-03-01T00:00:00Z",
        pytest.approx(100 / 3),
        100.0,
    )


async def test_a_second_decision_about_one_offer_changes_nothing(
    services: Services, engagement: dict[str, Any], talent: Talent, database_url: URL
) -> None:
    offer = uuid4()
    await talent.tell(
        talent.offer_made(offer, "2026-03-01T00:00:00Z"),
        talent.offer_decided(offer, "2026-03-02T00:00:00Z", accepted=True),
        talent.offer_decided(offer, "2026-04-02T00:00:00Z", accepted=False),
        talent.offer_made(offer, "2026-04-01T00:00:00Z"),
    )
    assert await latest(services, engagement, "offer_acceptance_rate") == (
        "2026-03-01T00:00:00Z",
        100.0,
        None,
    )
    rows = await fetch(database_url, "SELECT made_at, decided_at, accepted FROM kpi.offers")
    assert [tuple(row) for row in rows] == [
        (
            datetime.fromisoformat("2026-03-01T00:00:00+00:00"),
            datetime.fromisoformat("2026-03-02T00:00:00+00:00"),
            True,
        )
    ]


async def test_onboarding_time_is_the_mean_days_from_start_to_completion_per_month(
    services: Services, engagement: dict[str, Any], talent: Talent
) -> None:
    await talent.tell(
        talent.onboarded(uuid4(), "2026-02-02", "2026-02-12"),
        talent.onboarded(uuid4(), "2026-03-02", "2026-03-16"),
        talent.onboarded(uuid4(), "2026-03-01", "2026-03-31"),
    )
    assert await latest(services, engagement, "onboarding_time") == (
        "2026-03-01T00:00:00Z",
        22.0,
        10.0,
    )


async def test_head_count_is_the_last_reading_of_each_month(
    services: Services, engagement: dict[str, Any], talent: Talent
) -> None:
    await talent.tell(
        talent.headcount(12, "2026-01-20T00:00:00Z"),
        talent.headcount(11, "2026-02-10T00:00:00Z"),
        talent.headcount(10, "2026-01-05T00:00:00Z"),  # late, and earlier: not the month's last
    )
    assert await latest(services, engagement, "head_count") == (
        "2026-02-01T00:00:00Z",
        11.0,
        12.0,
    )


def _team_month(talent: Talent) -> list[dict[str, Any]]:
    """January 2026: 10 on the team at its start, 9 at its end; one long-standing member and
    one hired in January leave in it."""
    veteran, newcomer = uuid4(), uuid4()
    return [
        talent.headcount(10, "2025-12-31T12:00:00Z"),
        talent.hired(veteran, "2025-05-20T00:00:00Z", "2025-06-01"),
        talent.hired(newcomer, "2026-01-02T00:00:00Z", "2026-01-05"),
        talent.terminated(veteran, "2026-01-10"),
        talent.terminated(newcomer, "2026-01-25"),
        talent.headcount(9, "2026-01-31T23:00:00Z"),
    ]


async def test_retention_and_attrition_follow_their_formulas(
    services: Services, engagement: dict[str, Any], talent: Talent
) -> None:
    await talent.tell(*_team_month(talent))
    # Retention: (10 - 1 long-standing leaver) / 10. Attrition: 2 leavers / mean of 10 and 9.
    assert await latest(services, engagement, "retention_rate") == (
        "2026-01-01T00:00:00Z",
        90.0,
        None,
    )
    assert await latest(services, engagement, "attrition_rate") == (
        "2026-01-01T00:00:00Z",
        pytest.approx(200 / 9.5),
        None,
    )
    assert await latest(services, engagement, "head_count") == (
        "2026-01-01T00:00:00Z",
        9.0,
        10.0,
    )


async def test_facts_of_different_aggregates_in_any_order_converge_on_the_same_values(
    services: Services, as_talent: httpx.AsyncClient
) -> None:
    metrics = ("retention_rate", "attrition_rate", "head_count", "time_to_hire")
    outcomes = []
    for seed in range(4):
        engagement = await builders.create_engagement(services.engagements)
        talent = Talent(as_talent, engagement)
        requisition = uuid4()
        facts = [
            *_team_month(talent),
            talent.opened(requisition, "2026-01-01T00:00:00Z"),
            talent.hired(uuid4(), "2026-01-16T00:00:00Z", "2026-01-20", requisition),
        ]
        order = list(range(len(facts)))
        if seed:
            random.Random(seed).shuffle(order)  # noqa: S311 - a reproducible order, not a secret
        await talent.tell(*(facts[i] for i in _keep_aggregates_in_order(facts, order)))
        outcomes.append([await latest(services, engagement, metric) for metric in metrics])
    assert all(outcome == outcomes[0] for outcome in outcomes), outcomes
    assert outcomes[0][3][1] == 15.0


async def test_facts_of_different_aggregates_applied_at_once_miss_nothing(
    services: Services, engagement: dict[str, Any], talent: Talent
) -> None:
    await talent.tell(
        talent.headcount(40, "2025-12-31T12:00:00Z"), talent.headcount(20, "2026-01-31T12:00:00Z")
    )
    # Twenty leavers told side by side, as parallel deliveries would: each recomputes the month.
    leavers = [talent.terminated(uuid4(), f"2026-01-{day:02}") for day in range(2, 22)]
    await asyncio.gather(*(talent.tell(fact) for fact in leavers))
    assert (await latest(services, engagement, "retention_rate"))[1] == 50.0
    assert (await latest(services, engagement, "attrition_rate"))[1] == pytest.approx(2000 / 30)


def _keep_aggregates_in_order(facts: list[dict[str, Any]], order: list[int]) -> list[int]:
    """`order`, with each aggregate's facts swapped back into their own order."""
    by_aggregate: dict[str, list[int]] = {}
    for index in order:
        by_aggregate.setdefault(facts[index]["aggregate_id"], []).append(index)
    queues = {key: sorted(indices) for key, indices in by_aggregate.items()}
    return [queues[facts[index]["aggregate_id"]].pop(0) for index in order]


async def test_a_second_fact_about_the_same_thing_changes_nothing(
    services: Services, engagement: dict[str, Any], talent: Talent, database_url: URL
) -> None:
    requisition, member = uuid4(), uuid4()
    await talent.tell(
        talent.opened(requisition, "2026-01-01T00:00:00Z"),
        talent.hired(member, "2026-01-11T00:00:00Z", "2026-01-12", requisition),
        talent.filled(requisition, "2026-01-11T00:00:00Z"),
    )
    before = await latest(services, engagement, "time_to_hire")
    # The same things told again, under new message ids and with other details.
    await talent.tell(
        talent.opened(requisition, "2025-12-01T00:00:00Z"),
        talent.hired(member, "2026-01-31T00:00:00Z", "2026-02-01", requisition),
        talent.filled(requisition, "2026-02-11T00:00:00Z"),
    )
    assert (
        await latest(services, engagement, "time_to_hire")
        == before
        == (
            "2026-01-01T00:00:00Z",
            10.0,
            None,
        )
    )
    for table in ("opened_requisitions", "hires", "filled_requisitions"):
        assert len(await fetch(database_url, f"SELECT 1 FROM kpi.{table}")) == 1


async def test_facts_are_kept_under_the_engagements_parties(
    engagement: dict[str, Any], talent: Talent, database_url: URL
) -> None:
    member = uuid4()
    await talent.tell(
        talent.hired(member, "2026-01-02T00:00:00Z", "2026-01-05"),
        talent.onboarded(member, "2026-01-05", "2026-01-19"),
        talent.terminated(member, "2026-03-01"),
        talent.headcount(3, "2026-01-02T00:00:00Z"),
    )
    for table in ("hires", "completed_onboardings", "terminations", "headcount_readings"):
        [row] = await fetch(
            database_url, f"SELECT engagement_id, client_id, partner_id FROM kpi.{table}"
        )
        assert [str(value) for value in row] == [
            engagement["id"],
            engagement["client_id"],
            engagement["partner_id"],
        ]
    [termination] = await fetch(database_url, "SELECT terminated_on FROM kpi.terminations")
    assert termination[0] == date(2026, 3, 1)


async def test_a_hiring_fact_that_does_not_fit_its_type_is_refused_and_not_recorded(
    talent: Talent, database_url: URL
) -> None:
    fact = talent.headcount(3, "2026-01-02T00:00:00Z")
    fact["payload"]["headcount"] = -1
    response = await talent.client.post(MESSAGES_PATH, json=fact)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "payload", "headcount"]
    naive = talent.hired(uuid4(), "2026-01-02T00:00:00Z", "2026-01-05")
    naive["payload"]["hired_at"] = "2026-01-02T00:00:00"
    assert (await talent.client.post(MESSAGES_PATH, json=naive)).status_code == 422
    assert await fetch(database_url, "SELECT 1 FROM kpi.inbox") == []
    assert await fetch(database_url, "SELECT 1 FROM kpi.headcount_readings") == []


def _at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00")


def test_a_month_without_leavers_retains_everyone_and_loses_no_one() -> None:
    retention, attrition = retention_and_attrition(
        [(_at("2026-01-15"), 10), (_at("2026-03-10"), 12)], []
    )
    # February and March start from January's 10; March ends at 12.
    assert retention == [(date(2026, 2, 1), 100.0), (date(2026, 3, 1), 100.0)]
    assert attrition == [(date(2026, 2, 1), 0.0), (date(2026, 3, 1), 0.0)]


def test_a_team_of_none_at_the_start_has_no_retention_but_an_attrition_once_it_grows() -> None:
    retention, attrition = retention_and_attrition(
        [(_at("2026-01-01"), 0), (_at("2026-02-20"), 4)], [(date(2026, 2, 25), date(2026, 2, 21))]
    )
    assert retention == []
    assert attrition == [(date(2026, 2, 1), 50.0)]  # 1 leaver over a mean of (0 + 4) / 2


def test_leavers_after_the_last_reading_count_against_the_last_head_count() -> None:
    retention, attrition = retention_and_attrition(
        [(_at("2026-01-10"), 8)], [(date(2026, 3, 5), None), (date(2026, 3, 6), None)]
    )
    assert retention == [(date(2026, 2, 1), 100.0), (date(2026, 3, 1), 75.0)]
    assert attrition == [(date(2026, 2, 1), 0.0), (date(2026, 3, 1), 25.0)]


FACT_TABLES = [
    "opened_requisitions",
    "filled_requisitions",
    "offers",
    "hires",
    "completed_onboardings",
    "terminations",
    "headcount_readings",
]


async def test_each_fact_table_shows_a_tenant_only_its_own_engagements_facts(
    services: Services, as_talent: httpx.AsyncClient, database_url: URL
) -> None:
    engagements = [await builders.create_engagement(services.engagements) for _ in range(2)]
    for engagement in engagements:
        talent = Talent(as_talent, engagement)
        requisition, member, offer = uuid4(), uuid4(), uuid4()
        await talent.tell(
            talent.opened(requisition, "2026-01-01T00:00:00Z"),
            talent.filled(requisition, "2026-01-20T00:00:00Z"),
            talent.offer_made(offer, "2026-01-10T00:00:00Z"),
            talent.hired(member, "2026-01-20T00:00:00Z", "2026-01-21", requisition),
            talent.onboarded(member, "2026-01-21", "2026-02-04"),
            talent.terminated(member, "2026-03-01"),
            talent.headcount(1, "2026-01-20T00:00:00Z"),
        )
    own = engagements[0]
    settings = KpiSettings.with_database(as_service(database_url))
    connection = await asyncpg.connect(dsn(settings.service_url))
    try:
        for table in FACT_TABLES:
            assert await connection.fetchval(f"SELECT count(*) FROM kpi.{table}") == 0, table
            async with connection.transaction():
                await connection.execute(
                    "SELECT set_config('handover.tenant', $1, true)", own["partner_id"]
                )
                rows = await connection.fetch(f"SELECT engagement_id::text FROM kpi.{table}")
                assert [row[0] for row in rows] == [own["id"]], table
    finally:
        await connection.close()
