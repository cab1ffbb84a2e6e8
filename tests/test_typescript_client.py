"""A frontend team's build: a TypeScript client generated from the committed contract with
openapi-typescript, and `clients/typescript/usage.ts` type-checked against it by tsc."""

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from handover_tools.cli import COMMITTED_OPENAPI
from handover_tools.stack import REPO_ROOT

CHECK = REPO_ROOT / "clients" / "typescript"
BIN = CHECK / "node_modules" / ".bin"


@pytest.fixture(scope="module", autouse=True)
def _toolchain() -> None:
    if not (BIN / "tsc").exists():
        pytest.fail("No TypeScript toolchain: `python3 dev.py test` installs clients/typescript.")


def _type_check(document: dict[str, Any], directory: Path) -> subprocess.CompletedProcess[str]:
    """Generate the client into `directory` and type-check the usage file against it."""
    contract = directory / "openapi.json"
    contract.write_text(json.dumps(document))
    generated = directory / "handover-api.ts"
    subprocess.run(
        [BIN / "openapi-typescript", contract, "--output", generated],
        check=True,
        capture_output=True,
        timeout=60,
    )
    tsconfig = directory / "tsconfig.json"
    tsconfig.write_text(
        json.dumps(
            {
                "extends": str(CHECK / "tsconfig.json"),
                "compilerOptions": {"paths": {"handover-api": [str(generated)]}},
                "files": [str(CHECK / "usage.ts")],
            }
        )
    )
    return subprocess.run(
        [BIN / "tsc", "--project", tsconfig],
        cwd=CHECK,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_usage_file_type_checks_against_a_client_generated_from_the_contract(
    tmp_path: Path,
) -> None:
    checked = _type_check(json.loads(COMMITTED_OPENAPI.read_text()), tmp_path)
    assert checked.returncode == 0, checked.stdout


def _without_list_engagements(document: dict[str, Any]) -> None:
    del document["paths"]["/v1/engagements"]["get"]


def _without_next_cursor(document: dict[str, Any]) -> None:
    page = document["components"]["schemas"]["EngagementPage"]
    del page["properties"]["next_cursor"]
    page["required"].remove("next_cursor")


def _renamed_path_parameter(document: dict[str, Any]) -> None:
    paths = document["paths"]
    item = paths.pop("/v1/requisitions/{requisition_id}")
    item["get"]["parameters"][0]["name"] = "id"
    paths["/v1/requisitions/{id}"] = item


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        (_without_list_engagements, '"/v1/engagements"'),
        (_without_next_cursor, "next_cursor"),
        (_renamed_path_parameter, "requisition_id"),
    ],
    ids=["operation-removed", "page-property-removed", "path-parameter-renamed"],
)
def test_the_usage_file_fails_to_type_check_once_the_contract_loses_what_it_uses(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], reported: str
) -> None:
    document = json.loads(COMMITTED_OPENAPI.read_text())
    change(document)
    checked = _type_check(document, tmp_path)
    assert checked.returncode != 0
    errors = [line for line in checked.stdout.splitlines() if "error TS" in line]
    assert errors
    assert all(line.startswith("usage.ts(") for line in errors), errors
    assert any(reported in line for line in errors), errors
