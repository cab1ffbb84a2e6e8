"""wrk, from Debian's packages: found on PATH, or installed with apt-get where this machine
gets its packages that way (as `dev.py test` installs Chromium)."""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
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
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


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
                p50_ms=report["p50_us"] / 1e3,
                p99_ms=report["p99_us"] / 1e3,
                errors=sum(report["errors"].values()),
            )
    raise RuntimeError(
        f"wrk exited with {completed.returncode} and no report:\n"
        f"{completed.stdout}\n{completed.stderr}"
    )
