"""`python -m bench`: bring the system up, run each scenario and its baseline, report.

wrk's scenarios run against the system and the bare app in turns, round by round, after a
warm-up each; a scenario that drives itself runs, then its baseline. The ratio of the two is
what a run on a small, noisy machine can be judged by.
"""

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report, wrk
from bench.report import Result
from bench.scenario import CONNECTIONS, AnyScenario, BareApp, Context
from bench.scenarios import ALL
from bench.system import Rig, Timing

RESULTS = Path(__file__).resolve().parent / "results"
FULL = Timing(warmup_seconds=5, seconds=40, rounds=8)
QUICK = Timing(warmup_seconds=1, seconds=3, quick=True)


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _run(rig: Rig, scenarios: list[AnyScenario]) -> list[Result]:
    data: dict[Callable[[Context], Coroutine[Any, Any, Any]], Any] = {}
    for scenario in scenarios:
        if scenario.setup not in data:
            _say(f"setting up {scenario.name}")
            data[scenario.setup] = asyncio.run(scenario.setup(rig.context()))
    rig.start_baseline()
    results = []
    for scenario in scenarios:
        load = scenario.load(data[scenario.setup])
        if scenario.drive is None:
            _say(f"{scenario.name}: the system and its baseline, in turns")
            system, baseline = rig.alternate(load, scenario.services, scenario.held)
        else:
            _say(f"{scenario.name}: the system")
            system = scenario.drive(rig, data[scenario.setup])
            _say(f"{scenario.name}: its baseline")
            assert not isinstance(scenario.baseline, BareApp)  # as Scenario checks
            baseline = scenario.baseline.measure(rig, load)
        if scenario.settle is not None and not rig.timing.quick:
            _say(f"{scenario.name}: waiting for its held workers")
            system = replace(system, extras={**system.extras, **scenario.settle(rig)})
        connections = None if scenario.drive is not None else load.connections
        results.append(Result(scenario, system, baseline, connections))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark the system against its baselines."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK.seconds} s per run: proves the harness works; figures not to keep",
    )
    parser.add_argument(
        "--out", type=Path, help="the JSON file to write (default: bench/results/<time>.json)"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[scenario.name for scenario in ALL],
        help="run only this scenario (repeatable)",
    )
    args = parser.parse_args(argv)

    wrk_path = wrk.find_or_install()
    if wrk_path is None:
        _say("wrk is needed: install Debian's package (apt-get install wrk), or put it on PATH")
        return 2
    scenarios = [s for s in ALL if not args.scenario or s.name in args.scenario]
    timing = QUICK if args.quick else FULL
    started = datetime.now(UTC)
    _say("starting PostgreSQL, the services and the gateway")
    with (
        tempfile.TemporaryDirectory(prefix="handover-bench-") as work_dir,
        Rig(Path(work_dir), wrk_path, timing) as rig,
    ):
        results = _run(rig, scenarios)
        machine = report.machine(rig.postgres_version(), wrk.version(wrk_path))

    print(report.table(results))
    out: Path = args.out or RESULTS / f"{started:%Y%m%dT%H%M%SZ}.json"
    run = {
        "started_at": started.isoformat(timespec="seconds"),
        "commit": report.commit(),
        "mode": "quick" if args.quick else "full",
        "load": {
            "threads": wrk.THREADS,
            "connections": CONNECTIONS,
            "warmup_seconds": timing.warmup_seconds,
            "seconds": timing.seconds,
        },
        "machine": machine,
    }
    report.write(out, run, results)
    _say(f"figures written to {out}")
    return 1 if any(result.failed for result in results) else 0
