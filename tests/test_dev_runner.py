"""The README's run command, end to end: up, reachable, Ctrl-C, nothing left running, data kept."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from handover_tools.services import SERVICES
from handover_tools.stack import REPO_ROOT
from tests.conftest import free_port_block

pytestmark = pytest.mark.live

READY_LINE = "Press Ctrl-C to stop."


def _start(data_dir: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    """`python3 dev.py up`, as the README says, in a session of its own like a terminal's."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # the embedded default
    return subprocess.Popen(
        [
            sys.executable,
            str(REPO_ROOT / "dev.py"),
            "up",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )


def _wait_for_ready(process: subprocess.Popen[str], timeout: float = 90) -> str:
    assert process.stdout is not None
    output = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        output += line
        if READY_LINE in line:
            return output
    process.kill()
    pytest.fail(f"the system did not come up:\n{output}")


def _processes_of(process: subprocess.Popen[str], data_dir: Path) -> list[psutil.Process]:
    """The runner's children, and PostgreSQL, which daemonises away from its parent."""
    children = psutil.Process(process.pid).children(recursive=True)
    postgres = [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(data_dir) in " ".join(p.info["cmdline"] or [])
    ]
    return [*children, *postgres]


def _stop(process: subprocess.Popen[str]) -> str:
    """Ctrl-C: SIGINT to the whole foreground process group, not just the runner."""
    os.killpg(process.pid, signal.SIGINT)
    remaining, _ = process.communicate(timeout=60)
    return remaining


def test_run_command_brings_the_system_up_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port_block(4)
    gateway = f"http://127.0.0.1:{port}"

    runner = _start(data_dir, port)
    output = _wait_for_ready(runner)
    assert f"Gateway:  {gateway}" in output
    assert f"API docs: {gateway}/docs" in output
    assert "Demo data loaded." in output
    for service in SERVICES:
        assert httpx.get(f"{gateway}/{service.name}/readyz").status_code == 200
    key = re.search(r"Admin key: (hov_live_\S+)", output)
    assert key is not None, output
    auth = {"Authorization": f"Bearer {key.group(1)}"}
    assert httpx.get(f"{gateway}/v1/organizations").status_code == 401
    demo_orgs = httpx.get(f"{gateway}/v1/organizations", headers=auth).json()["items"]
    assert demo_orgs
    spawned = _processes_of(runner, data_dir)
    assert len(spawned) >= 5  # three services, the gateway, PostgreSQL

    _stop(runner)
    assert runner.returncode == 0
    _, alive = psutil.wait_procs(spawned, timeout=10)
    assert alive == []
    assert (data_dir / "postgres" / "PG_VERSION").exists()

    again = _start(data_dir, port, "--no-demo")
    try:
        output = _wait_for_ready(again)
        assert "Demo data" not in output
        assert f"Admin key: {key.group(1)}" in output  # kept with the data
        kept = httpx.get(f"{gateway}/v1/organizations", headers=auth).json()["items"]
        assert [org["id"] for org in kept] == [org["id"] for org in demo_orgs]
    finally:
        _stop(again)
    assert again.returncode == 0
