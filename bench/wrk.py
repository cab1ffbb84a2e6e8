"""wrk, from Debian's packages: found on PATH, or installed with apt-get where this machine
gets its packages that way (as `dev.py test` installs Chromium)."""

import json
import math
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.scenario import Load

THREADS = 2
TIMEOUT_SECONDS = 10
REPORT_MARKER = "BENCH_RESULT "  # the line lua/report.lua writes


def find_or_install() -> Path | None:
    found = shutil.which("wrk")
    if found:
        return Path(found)
    apt_get = shutil.which("apt-get")
    if apt_get is None or os.geteuid() != 0:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        [apt_get, "update", "-qq"],
        [apt_get, "install", "-y", "-qq", "--no-install-recommends", "wrk"],
    ):
        if subprocess.run(command, env=env, check=False).returncode:  # noqa: S603 - fixed commands
            return None
    found = shutil.which("wrk")
    return Path(found) if found else None


def version(wrk: Path) -> str:
    """The second word of `wrk --version`: "debian/4.1.0-3+b2", say."""
    completed = subprocess.run(  # noqa: S603 - our wrk
        [wrk, "--version"], capture_output=True, text=True, check=False
    )
    words = completed.stdout.split()
    return words[1] if len(words) > 1 else "unknown"


@dataclass(frozen=True)
class Report:
    requests: int
    seconds: float
    latency_us: Mapping[int, int]
    """How many answers took each number of microseconds: wrk's whole histogram, so that runs
    can be combined."""
    error_kinds: Mapping[str, int] = field(default_factory=dict)
    """The errors by kind, as the script reports them (`connect`, `read`, `write`, `status`,
    `timeout`, `unexpected`): what a failed run tells of why it failed."""

    @property
    def errors(self) -> int:
        return sum(self.error_kinds.values())

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile_ms(self, percent: float) -> float:
        """As wrk reckons it (C's `round(percent / 100 * count + 0.5)` for the rank): the least
        latency that as many answers took at most."""
        count = sum(self.latency_us.values())
        rank = math.floor(percent / 100 * count + 1)
        seen = 0
        for latency, answers in sorted(self.latency_us.items()):
            seen += answers
            if seen >= rank:
                return latency / 1e3
        return 0.0

    @property
    def p50_ms(self) -> float:
        return self.percentile_ms(50)

    @property
    def p99_ms(self) -> float:
        return self.percentile_ms(99)


def combined(reports: Iterable[Report]) -> Report:
    """Several runs as one: their requests over their seconds, their histograms added."""
    reports = list(reports)
    latency_us: Counter[int] = Counter()
    error_kinds: Counter[str] = Counter()
    for report in reports:
        latency_us.update(report.latency_us)
        error_kinds.update(report.error_kinds)
    return Report(
        requests=sum(report.requests for report in reports),
        seconds=sum(report.seconds for report in reports),
        latency_us=latency_us,
        error_kinds={kind: count for kind, count in error_kinds.items() if count},
    )


def run(wrk: Path, url: str, load: Load, seconds: int, lines_file: Path) -> Report:
    """`load` against `url` for `seconds`, over `load.connections` connections; its script is
    given `lines_file` (the lines to send, written by the caller) and the number of threads."""
    command: list[str | Path] = [
        wrk,
        f"--threads={THREADS}",
        f"--connections={load.connections}",
        f"--duration={seconds}s",
        f"--timeout={TIMEOUT_SECONDS}s",
        f"--script={load.script}",
        url,
        "--",
        str(lines_file),
        str(THREADS),
    ]
    completed = subprocess.run(  # noqa: S603 - our wrk, our arguments
        command,
        env={**os.environ, "BENCH_TOKEN": load.token},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(REPORT_MARKER):
            report = json.loads(line.removeprefix(REPORT_MARKER))
            return Report(
                requests=report["requests"],
                seconds=report["duration_us"] / 1e6,
                latency_us=dict(report["latency_us"]),
                error_kinds={kind: count for kind, count in report["errors"].items() if count},
            )
    raise RuntimeError(
        f"wrk exited with {completed.returncode} and no report:\n"
        f"{completed.stdout}\n{completed.stderr}"
    )
