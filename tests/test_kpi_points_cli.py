"""`handover kpi push` and `handover kpi export`: files of data points in and out, streamed."""

import json
from pathlib import Path

from handover_client.cli import ExitCode
from tests import builders
from tests.conftest import Services
from tests.test_cli import admin


async def test_a_pushed_file_is_exported_and_pushed_back_unchanged(
    services: Services, tmp_path: Path
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    e = engagement["id"]
    upload = tmp_path / "points.ndjson"
    upload.write_text(
        "\n".join(
            json.dumps(builders.data_point(engagement, at=f"2026-10-{day:02d}T00:00:00Z"))
            for day in range(1, 11)
        )
        + "\n"
    )
    pushed = await admin(services, "kpi", "push", str(upload))
    assert pushed.exit_code == ExitCode.OK, pushed.stderr
    assert json.loads(pushed.stdout)["accepted"] == 10

    exported = await admin(services, "kpi", "export", "--engagement", e)
    assert exported.exit_code == ExitCode.OK, exported.stderr
    rows = exported.stdout.splitlines()
    assert rows[0].startswith("engagement_id,metric_key,at,value")
    assert len(rows) == 11

    again = tmp_path / "export.csv"
    again.write_text(exported.stdout)
    repushed = await admin(services, "kpi", "push", str(again))
    assert json.loads(repushed.stdout)["unchanged"] == 10


async def test_a_push_with_rejected_lines_lists_them_and_exits_1(
    services: Services, tmp_path: Path
) -> None:
    engagement = await builders.create_engagement(services.engagements)
    upload = tmp_path / "points.ndjson"
    upload.write_text(
        json.dumps(builders.data_point(engagement))
        + "\n"
        + json.dumps(builders.data_point(engagement, metric_key="nope"))
        + "\n"
    )
    pushed = await admin(services, "kpi", "push", str(upload))
    assert pushed.exit_code == ExitCode.REFUSED
    result = json.loads(pushed.stdout)
    assert (result["accepted"], result["rejected"]) == (1, 1)
    assert result["errors"][0]["field"] == "metric_key"
    assert "1 lines rejected" in pushed.stderr
