"""Data points: idempotent ingestion by natural key, corrections with history, and each
reason a line is rejected, through the JSON batch, NDJSON and CSV endpoints."""

import json
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from handover_kit.app import IDENTITY_PROVIDER
from handover_kpi.config import Settings as KpiSettings
from handover_kpi.main import create_app as create_kpi
from tests import builders
from tests.builders import data_point, send_points
from tests.conftest import Services, as_service
from tests.identity import SERVICE_SETTINGS, IdentityProvider


def ndjson(*points: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(point).encode() + b"\n" for point in points)


async def test_the_same_point_twice_is_stored_once(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    point = data_point(engagement, dimensions={"team": "claims"})
    first = await send_points(services.kpi, point)
    again = await send_points(services.kpi, point)
    assert (first["accepted"], first["replaced"], first["unchanged"]) == (1, 0, 0)
    assert (again["accepted"], again["replaced"], again["unchanged"]) == (0, 0, 1)
    listed = (
        await services.kpi.get("/v1/data-points", params={"engagement_id": engagement["id"]})
    ).json()["items"]
    assert [(p["value"], p["revision"], p["dimensions"]) for p in listed] == [
        (91.5, 1, {"team": "claims"})
    ]


async def test_a_corrected_value_replaces_the_point_and_keeps_its_history(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    await send_points(services.kpi, data_point(engagement, value=80, source="first-export"))
    corrected = await send_points(
        services.kpi, data_point(engagement, value=82.25, source="second-export")
    )
    assert (corrected["accepted"], corrected["replaced"]) == (0, 1)
    [point] = (
        await services.kpi.get("/v1/data-points", params={"engagement_id": engagement["id"]})
    ).json()["items"]
    assert (point["value"], point["revision"], point["source"]) == (82.25, 2, "second-export")
    revisions = (await services.kpi.get(f"/v1/data-points/{point['id']}/revisions")).json()
    assert [(r["revision"], r["value"], r["source"]) for r in revisions["items"]] == [
        (1, 80.0, "first-export"),
        (2, 82.25, "second-export"),
    ]


async def test_points_differing_only_in_dimensions_are_different_points(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    result = await send_points(
        services.kpi,
        data_point(engagement),
        data_point(engagement, dimensions={"team": "claims"}),
        data_point(engagement, dimensions={"team": "claims", "site": "manila"}),
    )
    assert result["accepted"] == 3


async def test_a_later_line_with_the_same_key_wins_within_a_request(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    result = await send_points(
        services.kpi, data_point(engagement, value=1), data_point(engagement, value=2)
    )
    assert (result["accepted"], result["unchanged"]) == (1, 1)
    [point] = (await services.kpi.get("/v1/data-points")).json()["items"]
    assert point["value"] == 2.0


async def test_each_bad_line_is_rejected_with_its_reason_and_the_good_lines_are_kept(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    lines = [
        data_point(engagement, at="2026-01-01T00:00:00Z"),
        data_point(engagement, metric_key="no_such_metric"),
        data_point(engagement, engagement_id="0193a5c0-7b1e-7c00-8000-0000000000ff"),
        data_point(engagement, value="NaN"),
        data_point(engagement, value=float("inf")),
        data_point(engagement, unit="days"),
        data_point(engagement, at="2999-01-01T00:00:00Z"),
        data_point(engagement, at="2026-01-01T00:00:00"),
        data_point(engagement, dimensions={"floor": "3"}),
        data_point(engagement, at="2026-02-01T00:00:00Z", unit="percent"),
    ]
    body = ndjson(*lines[:4]) + b"{not json\n" + ndjson(*lines[4:])
    response = await services.kpi.post(
        "/v1/data-points/ndjson",
        content=body.replace(b"Infinity", b"1e999"),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["rejected"]) == (2, 9)
    assert [(e["line"], e["field"]) for e in result["errors"]] == [
        (2, "metric_key"),
        (3, "engagement_id"),
        (4, "value"),
        (5, "line"),
        (6, "value"),
        (7, "unit"),
        (8, "at"),
        (9, "at"),
        (10, "dimensions"),
    ]
    reasons = {e["line"]: e["reason"] for e in result["errors"]}
    assert "Unknown metric" in reasons[2]
    assert "Unknown engagement" in reasons[3]
    assert "finite" in reasons[4]
    assert "finite" in reasons[6]
    assert "Wrong unit" in reasons[7]
    assert "future" in reasons[8]
    stored = (await services.kpi.get("/v1/data-points")).json()["items"]
    assert sorted(p["at"] for p in stored) == ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"]


async def test_another_tenants_engagement_is_an_unknown_engagement(services: Services) -> None:
    mine = await builders.create_engagement(services.engagements)
    theirs = await builders.create_engagement(services.engagements)
    key = await builders.create_api_key(
        services.engagements, ["kpi:read", "kpi:write"], organization_id=mine["client_id"]
    )
    client = (await services.acting_as(key["key"])).kpi
    result = await send_points(client, data_point(mine), data_point(theirs))
    assert (result["accepted"], result["rejected"]) == (1, 1)
    assert result["errors"][0]["field"] == "engagement_id"


async def test_a_csv_upload_is_ingested_and_its_export_sends_back_unchanged(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    e = engagement["id"]
    upload = (
        "engagement_id,metric_key,at,value,unit,team,site,source\n"
        f"{e},quality_score,2026-10-01T00:00:00Z,91.5,percent,claims,manila,qa\n"
        f"{e},head_count,2026-10-01T00:00:00+00:00,42,,,,hris\n"
        f"{e},head_count,2026-10-02T00:00:00Z,forty,,,,hris\n"
        f"{e},head_count,2026-10-03T00:00:00Z\n"
    )
    response = await services.kpi.post(
        "/v1/data-points/csv", content=upload, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["rejected"]) == (2, 2)
    assert [(e["line"], e["field"]) for e in result["errors"]] == [(4, "value"), (5, "line")]

    export = await services.kpi.get(
        "/v1/data-points/export", params={"format": "csv", "engagement_id": e}
    )
    assert export.status_code == 200
    assert export.headers["content-disposition"] == 'attachment; filename="data-points.csv"'
    rows = export.text.splitlines()
    assert rows[0] == "engagement_id,metric_key,at,value,role,team,site,source"
    assert sorted(rows[1:]) == sorted(
        [
            f"{e},quality_score,2026-10-01T00:00:00+00:00,91.5,,claims,manila,qa",
            f"{e},head_count,2026-10-01T00:00:00+00:00,42.0,,,,hris",
        ]
    )
    again = await services.kpi.post(
        "/v1/data-points/csv", content=export.content, headers={"Content-Type": "text/csv"}
    )
    assert (again.json()["unchanged"], again.json()["accepted"]) == (2, 0)

    ndjson_export = await services.kpi.get(
        "/v1/data-points/export", params={"format": "ndjson", "engagement_id": e}
    )
    exported = [json.loads(line) for line in ndjson_export.text.splitlines()]
    listed = (await services.kpi.get("/v1/data-points", params={"engagement_id": e})).json()
    assert exported == listed["items"]


async def test_a_csv_upload_without_a_header_is_refused_whole(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    response = await services.kpi.post(
        "/v1/data-points/csv",
        content=f"{engagement['id']},quality_score,2026-10-01T00:00:00Z,91.5\n",
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/malformed-upload"


async def test_reads_answer_an_etag_and_304_while_nothing_changed(services: Services) -> None:
    engagement = await builders.create_engagement(services.engagements)
    await send_points(services.kpi, data_point(engagement))
    first = await services.kpi.get("/v1/data-points")
    tag = first.headers["etag"]
    unchanged = await services.kpi.get("/v1/data-points", headers={"If-None-Match": tag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    await send_points(services.kpi, data_point(engagement, value=1))
    changed = await services.kpi.get("/v1/data-points", headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag


async def test_a_missing_point_is_a_404(services: Services) -> None:
    response = await services.kpi.get("/v1/data-points/0193a5c0-7b1e-7c00-8000-000000000001")
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/data-point-not-found"


async def test_a_request_whose_every_line_is_rejected_is_a_422_and_writes_nothing(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    response = await services.kpi.post(
        "/v1/data-points",
        json={"points": [data_point(engagement, value=None), data_point(engagement, at="soon")]},
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/points-rejected"
    assert (problem["accepted"], problem["rejected"]) == (0, 2)
    assert [(e["line"], e["field"]) for e in problem["line_errors"]] == [(1, "value"), (2, "at")]
    assert (await services.kpi.get("/v1/data-points")).json()["items"] == []


async def test_an_empty_upload_or_a_bare_number_for_an_instant_is_a_422(
    services: Services,
) -> None:
    empty = await services.kpi.post("/v1/data-points/ndjson", content=b"\n")
    assert empty.status_code == 422
    assert empty.json()["type"] == "/problems/malformed-upload"
    numeric = await services.kpi.get("/v1/data-points", params={"to": "0.5"})
    assert numeric.status_code == 422
    paths = await services.kpi.options("/v1/data-points/csv")
    assert paths.headers["allow"] == "POST"


async def test_the_uploads_take_bodies_over_the_cap_every_other_path_keeps(
    services: Services,
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    lines = [
        data_point(engagement, at=f"2026-01-01T00:{minute // 60:02d}:{minute % 60:02d}Z")
        for minute in range(3600)
    ]
    body = ndjson(*lines) * 4  # each point four times over: past the 1 MiB cap
    assert len(body) > 1_048_576
    streamed = await services.kpi.post("/v1/data-points/ndjson", content=body)
    assert streamed.status_code == 200, streamed.text
    assert (streamed.json()["accepted"], streamed.json()["unchanged"]) == (3600, 3 * 3600)
    batch = await services.kpi.post(
        "/v1/data-points", content=body, headers={"Content-Type": "application/json"}
    )
    assert batch.status_code == 413


async def test_an_upload_past_its_own_cap_is_a_413_and_writes_nothing(
    services: Services, database_url: URL, identity_provider: IdentityProvider
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    settings = KpiSettings.with_database(
        as_service(database_url), **SERVICE_SETTINGS, bulk_max_body_bytes=4096
    )
    transports = {
        "engagements": httpx.ASGITransport(app=services.apps["engagements"]),
        IDENTITY_PROVIDER: identity_provider.transport(),
    }
    body = ndjson(
        *(data_point(engagement, at=f"2026-01-01T00:00:{second:02d}Z") for second in range(60))
    )

    async def chunks() -> Any:
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    async with (
        LifespanManager(create_kpi(settings, transports=transports)) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://kpi",
            headers={"Authorization": f"Bearer {services.admin_key}"},
        ) as small,
    ):
        response = await small.post("/v1/data-points/ndjson", content=chunks())
    assert response.status_code == 413
    assert (await services.kpi.get("/v1/data-points")).json()["items"] == []
