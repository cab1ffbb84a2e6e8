#!/usr/bin/env python3
"""Set up and run Handover with nothing but Python 3.11 or newer.

    python3 dev.py up         run the whole system (PostgreSQL, migrations, services, gateway,
                              demo data)
    python3 dev.py test       run the whole test suite, with lint and type checks
    python3 dev.py bench      benchmarks against a baseline, `--quick` for a smoke run
                              (bench/README.md)
    python3 dev.py lint | typecheck | format | openapi

The first call creates .venv and installs the locked dependencies with uv; later
calls only re-sync. Arguments after the command are passed on.
"""

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
UV_REQUIREMENT = "uv>=0.13,<0.14"  # keep in step with the dev group in pyproject.toml
TYPESCRIPT_CHECK = ROOT / "clients" / "typescript"


def sh(*command: str | Path) -> None:
    completed = subprocess.run([str(part) for part in command], cwd=ROOT, check=False)
    if completed.returncode:
        sys.exit(completed.returncode)


def bootstrap() -> None:
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    if not (BIN / "uv").exists():
        sh(BIN / "python", "-m", "pip", "install", "--quiet", UV_REQUIREMENT)
    sh(BIN / "uv", "sync", "--frozen", "--all-packages", "--quiet")


def bootstrap_node() -> None:
    """The locked npm packages of the TypeScript client check; installed again only when the
    lock file is newer than what npm last installed."""
    installed = TYPESCRIPT_CHECK / "node_modules" / ".package-lock.json"
    lock = TYPESCRIPT_CHECK / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    if shutil.which("npm") is None:
        sys.exit("The tests need Node.js 20 or newer with npm, for the TypeScript client check.")
    sh("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", TYPESCRIPT_CHECK)


def bootstrap_browser() -> None:
    """Chromium, for the test that renders the docs page in a real browser. Installed with
    apt-get where that is how this machine gets packages (CI); elsewhere that test skips."""
    if any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")):
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print("No Chromium: the docs page browser test will be skipped.", flush=True)
        return
    print("Installing Chromium ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
    ):
        if subprocess.run(command, cwd=ROOT, env=env, check=False).returncode:
            sys.exit(f"`{' '.join(command)}` failed")


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in {"-h", "--help"}:
        print(__doc__)
        return
    command, args = sys.argv[1], sys.argv[2:]
    tools: dict[str, list[str | Path]] = {
        "up": [BIN / "handover-dev", "up", *args],
        "openapi": [BIN / "handover-dev", "openapi", *args],
        "lint": [BIN / "ruff", "check", *args],
        "format": [BIN / "ruff", "format", *args],
        "typecheck": [BIN / "mypy", *args],
        "bench": [BIN / "python", "-m", "bench", *args],
    }
    if command not in {*tools, "test"}:
        sys.exit(f"unknown command {command!r}; see `python3 dev.py --help`")
    bootstrap()
    if command == "test":
        bootstrap_node()
        bootstrap_browser()
        sh(BIN / "ruff", "check")
        sh(BIN / "ruff", "format", "--check")
        sh(BIN / "mypy")
        sh(BIN / "python", "-m", "pytest", *args)
        return
    os.execv(tools[command][0], [str(part) for part in tools[command]])


if __name__ == "__main__":
    main()
