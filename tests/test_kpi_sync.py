"""The change feed of data points: a script that follows the cursor sees every insert and
correction exactly once, even when transactions commit in another order than they wrote."""

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from handover_kit.db import ALL_TENANTS, Database
from handover_kpi.config import Settings as KpiSettings
from handover_kpi.points.store import PointIn, upsert_points
from tests import builders
from tests.builders import data_point, send_points
from tests.conftest import Services, as_service
from tests.identity import SERVICE_SETTINGS

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def kpi_db(database_url: URL) -> AsyncIterator[Database]:
    db = Database(KpiSettings.with_database(as_service(database_url), **SERVICE_SETTINGS), "tests")
    try:
        yield db
    finally:
        await db.dispose()


def _point(engagement: dict[str, Any], day: int, value: float) -> PointIn:
    return PointIn(
        engagement_id=UUID(engagement["id"]),
        client_id=UUID(engagement["client_id"]),
        partner_id=UUID(engagement["partner_id"]),
        metric_key="productivity_output",
        at=START + timedelta(days=day),
        value=value,
        source="tests",
    )


async def _pull(client: httpx.AsyncClient, cursor: str | None) -> dict[str, Any]:
    params: dict[str, str | int] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
    response = await client.get("/v1/data-points/changes", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_the_feed_shows_inserts_then_corrections_in_order(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    await send_points(services.kpi, data_point(engagement, value=1))
    await send_points(services.kpi, data_point(engagement, value=2))
    await send_points(services.kpi, data_point(engagement, value=2))
    feed = await _pull(services.kpi, None)
    assert [(c["kind"], c["revision"], c["value"]) for c in feed["items"]] == [
        ("inserted", 1, 1.0),
        ("corrected", 2, 2.0),
    ]
    after = await _pull(services.kpi, feed["next_cursor"])
    assert (after["items"], after["next_cursor"]) == ([], feed["next_cursor"])


async def test_a_change_committed_late_is_not_skipped_by_a_reader_already_past_later_ones(
    services: Services, kpi_db: Database
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    # The early writer takes its transaction id and writes first, but commits last.
    async with kpi_db.session(ALL_TENANTS) as early, early.begin():
        await early.execute(text("SELECT pg_current_xact_id()"))
        await upsert_points(early, [_point(engagement, 0, 1.0)])
        async with kpi_db.session(ALL_TENANTS) as late, late.begin():
            await upsert_points(late, [_point(engagement, 1, 2.0)])
        while_open = await _pull(services.kpi, None)
        assert while_open["items"] == []
    feed = await _pull(services.kpi, while_open["next_cursor"])
    assert [c["value"] for c in feed["items"]] == [1.0, 2.0]


async def test_a_script_following_the_cursor_misses_nothing_while_writes_run_concurrently(
    services: Services, kpi_db: Database
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    rng = random.Random(7)  # noqa: S311 - a reproducible schedule, not a secret
    writers, batches, days = 8, 6, 12
    done = asyncio.Event()

    async def writer(number: int) -> None:
        for batch in range(batches):
            async with kpi_db.session(ALL_TENANTS) as session, session.begin():
                points = [
                    _point(engagement, rng.randrange(days), float(number * 1000 + batch))
                    for _ in range(3)
                ]
                await upsert_points(session, points)
                # Hold the transaction open a while, so commits land out of write order.
                await asyncio.sleep(rng.uniform(0, 0.05))

    seen: list[tuple[str, int]] = []
    cursor: str | None = None

    async def reader() -> None:
        nonlocal cursor
        while True:
            finished = done.is_set()
            feed = await _pull(services.kpi, cursor)
            seen.extend((c["point_id"], c["revision"]) for c in feed["items"])
            cursor = feed["next_cursor"]
            if finished and not feed["items"]:
                return
            await asyncio.sleep(0.005)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(n) for n in range(writers)))
    done.set()
    await reading

    async with kpi_db.session(ALL_TENANTS) as session, session.begin():
        stored = (
            await session.execute(
                text("SELECT point_id::text, revision FROM kpi.data_point_revisions")
            )
        ).all()
    assert len(seen) == len(set(seen)), "a change was seen twice"
    assert sorted(seen) == sorted((point_id, revision) for point_id, revision in stored)
    assert len(stored) > days  # corrections happened, not only inserts


async def test_a_tenant_pulls_only_its_own_changes(services: Services) -> None:
    mine = await builders.create_engagement(services.engagements)
    theirs = await builders.create_engagement(services.engagements)
    await send_points(services.kpi, data_point(mine), data_point(theirs))
    key = await builders.create_api_key(
        services.engagements, ["kpi:read"], organization_id=mine["partner_id"]
    )
    client = (await services.acting_as(key["key"])).kpi
    feed = await _pull(client, None)
    assert [c["engagement_id"] for c in feed["items"]] == [mine["id"]]


async def test_a_forged_change_cursor_is_a_422(services: Services) -> None:
    response = await services.kpi.get("/v1/data-points/changes", params={"cursor": "bm9wZQ"})
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/invalid-cursor"
