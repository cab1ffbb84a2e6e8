"""The benchmark harness works: its quick mode brings up the system and the baselines, drives
both with wrk and writes every figure. How fast they are is never judged here: this machine is
small and shared, and `python3 dev.py bench` is where speed is measured."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bench import wrk
from bench.report import Result, table
from bench.scenario import LUA, Load, Measurement, Target
from bench.scenarios import ALL
from bench.scenarios.hris import WEBHOOK
from bench.scenarios.kpi import BareSeries
from bench.system import BASELINE, SYSTEM, Rig, Timing, paused, turns

FIELDS = {
    "scenario",
    "rate",
    "p50_ms",
    "p99_ms",
    "peak_rss_mib",
    "errors",
    "baseline_rate",
    "baseline_p99_ms",
    "baseline_errors",
    "ratio",
    "round_ratios",
    "target",
    "met",
    "failed",
}


def _require_wrk() -> None:
    if wrk.find_or_install() is not None:
        return
    if os.environ.get("CI"):
        pytest.fail("CI must have wrk: the harness installs Debian's package with apt-get")
    pytest.skip("no wrk on this machine, and it cannot be installed here")


@pytest.mark.live
def test_the_quick_mode_measures_every_scenario_and_its_baseline(
    repo_root: Path, tmp_path: Path
) -> None:
    _require_wrk()
    out = tmp_path / "figures.json"

    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-4000:]
    document = json.loads(out.read_text())
    assert document["machine"]["nproc"] >= 1
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    assert document["commit"].rstrip("+") == head.stdout.strip()
    results = {result["scenario"]: result for result in document["results"]}
    assert set(results) == {scenario.name for scenario in ALL}
    for name, result in results.items():
        assert result.keys() >= FIELDS, name
        assert result["errors"] == result["baseline_errors"] == 0, name
        assert result["rate"] > 0, name
        assert result["baseline_rate"] > 0, name
        assert result["peak_rss_mib"] > 0, name
        assert not result["failed"], name
        assert f"| {name} " in completed.stdout


def _measured(rate: float, p99_ms: float, errors: int = 0) -> Measurement:
    return Measurement(rate, p99_ms / 2, p99_ms, requests=1000, errors=errors, peak_rss_mib=50.0)


def test_a_run_with_failed_requests_is_reported_failed_whatever_its_speed() -> None:
    result = Result(ALL[0], _measured(900, 10, errors=1), _measured(1000, 10))

    assert result.failed
    assert not result.met


def test_a_failed_run_says_what_kinds_of_error_it_met_on_either_side() -> None:
    system = replace(_measured(900, 10, errors=3), error_kinds={"read": 1, "status": 2})
    baseline = replace(_measured(1000, 10, errors=2), error_kinds={"status": 2})

    result = Result(ALL[0], system, baseline)

    assert "| FAILED (5 errors: 1 read, 4 status) |" in table([result])
    assert result.as_json()["error_kinds"] == {"read": 1, "status": 2}


def test_each_round_is_compared_with_the_baseline_round_run_beside_it() -> None:
    system = replace(_measured(850, 10), round_rates=(800.0, 900.0))
    baseline = replace(_measured(1250, 10), round_rates=(1000.0, 1500.0))

    result = Result(ALL[0], system, baseline)

    assert result.round_ratios == pytest.approx([0.8, 0.6])
    assert result.as_json()["round_ratios"] == [0.8, 0.6]
    assert result.as_json()["baseline_round_rates"] == [1000.0, 1500.0]
    assert f"- {ALL[0].name}: round ratios 0.60x to 0.80x" in table([result])


def test_a_target_needs_both_its_rate_ratio_and_its_p99_bound() -> None:
    target = Target(min_ratio=0.6, max_p99_ratio=2.0)

    assert target.met_by(0.6, 2.0)
    assert not target.met_by(0.59, 1.0)
    assert not target.met_by(0.9, 2.1)
    assert Target(min_ratio=0.5).met_by(0.5, None)


def test_an_absolute_p99_bound_is_met_only_below_it() -> None:
    target = Target(min_ratio=0.0, max_p99_ms=50)

    assert target.met_by(0.01, None, p99_ms=49.9)
    assert not target.met_by(5.0, 0.5, p99_ms=50.0)
    assert not target.met_by(5.0, 0.5)


class Stack:
    """Records what is paused, as `handover_tools.stack.Stack` pauses a process (SIGSTOP)."""

    def __init__(self) -> None:
        self.paused: set[str] = set()

    def pause_service(self, name: str) -> None:
        self.paused.add(name)

    def resume_service(self, name: str) -> None:
        self.paused.discard(name)


def _load_that_fails(stack: Stack) -> None:
    with paused(stack, ["talent-hris-processor"]):
        assert stack.paused == {"talent-hris-processor"}
        raise RuntimeError("the load failed")


def test_a_held_worker_is_paused_while_the_load_runs_and_goes_on_after_even_a_failure() -> None:
    stack = Stack()
    with pytest.raises(RuntimeError, match="the load failed"):
        _load_that_fails(stack)
    assert stack.paused == set()


def test_percentiles_are_reckoned_from_the_histogram_as_wrk_reckons_them() -> None:
    report = wrk.Report(requests=100, seconds=1.0, latency_us={1000: 50, 2000: 49, 9000: 1})

    # wrk's rank is round(p / 100 * count + 0.5): the 51st answer for p50, the 100th for p99.
    assert report.p50_ms == 2.0
    assert report.p99_ms == 9.0
    assert report.percentile_ms(49) == 1.0


def test_rounds_combine_into_their_requests_over_their_seconds_and_one_histogram() -> None:
    fast = wrk.Report(
        requests=300, seconds=1.0, latency_us={1000: 99, 5000: 1}, error_kinds={"read": 1}
    )
    slow = wrk.Report(
        requests=100,
        seconds=1.0,
        latency_us={4000: 99, 8000: 1},
        error_kinds={"read": 1, "timeout": 1},
    )

    both = wrk.combined([fast, slow])

    assert both.rate == 200.0
    assert both.errors == 3
    assert both.error_kinds == {"read": 2, "timeout": 1}
    assert both.latency_us == {1000: 99, 4000: 99, 5000: 1, 8000: 1}
    assert both.p50_ms == 4.0
    assert both.p99_ms == 5.0


def test_the_sides_take_turns_so_that_a_steady_drift_falls_on_both_alike() -> None:
    order = turns(4)

    assert [side for _, side in order] == [
        SYSTEM,
        BASELINE,
        BASELINE,
        SYSTEM,
        SYSTEM,
        BASELINE,
        BASELINE,
        SYSTEM,
    ]
    assert [number for number, _ in order] == [0, 0, 1, 1, 2, 2, 3, 3]
    positions = {side: [at for at, (_, s) in enumerate(order) if s == side] for side in (0, 1)}
    assert sum(positions[SYSTEM]) == sum(positions[BASELINE])


def test_single_use_lines_give_the_warm_up_and_each_round_a_share_of_their_own(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, Path("wrk"), Timing(warmup_seconds=5, seconds=20, rounds=4))
    lines = [f"/v1/deliveries/{n}" for n in range(100)]

    warmup, rounds = rig.line_files(Load(LUA / "post.lua", "", lines, single_use=True))

    shares = [path.read_text().splitlines() for path in [warmup, *rounds]]
    assert [len(share) for share in shares] == [20, 20, 20, 20, 20]
    assert sorted(line for share in shares for line in share) == sorted(lines)


def test_lines_sent_again_and_again_are_one_file_for_every_round(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Path("wrk"), Timing(warmup_seconds=5, seconds=20, rounds=4))

    warmup, rounds = rig.line_files(Load(LUA / "get.lua", "token", ["/v1/engagements"]))

    assert rounds == [warmup] * 4
    assert warmup.read_text() == "/v1/engagements\n"


def test_a_scenario_that_wrk_drives_is_compared_with_the_bare_app_only() -> None:
    with pytest.raises(ValueError, match="bare app"):
        replace(WEBHOOK, baseline=BareSeries())
    with pytest.raises(ValueError, match="bare app"):
        replace(WEBHOOK, drive=lambda rig, data: _measured(1, 1))
