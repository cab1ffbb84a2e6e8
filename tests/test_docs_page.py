"""The interactive API docs at the gateway, as a real browser renders them: headless Chromium
runs the page's scripts under the gateway's Content-Security-Policy and fetches the merged
document, and every operation of the three services shows up."""

import os
import shutil
import subprocess
import tempfile

import httpx
import pytest

from handover_tools.stack import Stack

pytestmark = pytest.mark.live

# What a browser with no network beyond loopback needs to start quietly and at once.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Time for the scripts to fetch the document and render it, on a virtual clock.
    "--virtual-time-budget=15000",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("CI must have Chromium: `python3 dev.py test` installs it with apt-get")
    pytest.skip("no Chromium on this machine; install it to check the docs page in a browser")


def _rendered(url: str) -> str:
    """The page's DOM after its scripts ran."""
    with tempfile.TemporaryDirectory() as profile:
        completed = subprocess.run(
            [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    return completed.stdout


def test_the_docs_page_renders_every_operation_of_the_three_services(live: Stack) -> None:
    document = httpx.get(f"{live.gateway_url}/openapi.json", timeout=10).json()
    operation_ids = {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
    }
    services = {tag["x-service"] for tag in document["tags"] if "x-service" in tag}
    assert services == {"engagements", "talent", "kpi"}

    dom = _rendered(f"{live.gateway_url}/docs")

    assert 'class="swagger-ui' in dom, dom[:2000]
    assert document["info"]["title"] in dom
    missing = sorted(op for op in operation_ids if op not in dom)
    assert not missing, f"operations the page does not show: {missing}"
    for tag in document["tags"]:
        assert f'data-tag="{tag["name"]}"' in dom, tag["name"]
