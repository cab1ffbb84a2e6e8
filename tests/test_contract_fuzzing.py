"""Schemathesis against the real system through the gateway: every operation of the document
the gateway serves, sent its examples, the boundary cases of its schema and generated valid and
invalid input, and held to every one of schemathesis's checks (no server error; status, content
type, headers and body as documented; invalid input refused, valid input taken; no operation
answering without credentials)."""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.schemas import BaseSchema

from handover_kit.pagination import CURSOR_FORMAT, encode_cursor
from handover_tools.postgres import Server, drop_database
from handover_tools.services import SERVICES
from handover_tools.stack import Ports, Stack
from tests.conftest import free_port_block

# Every operation is a subtest of one test, which takes about 90 s on a quiet 2-core machine:
# the suite's per-test timeout would cut it short on a loaded one.
pytestmark = [pytest.mark.live, pytest.mark.timeout(600)]

FUZZ_DATABASE = "handover_fuzz"
SEED = 20240801
MAX_EXAMPLES = 25
# Fuzzing sends thousands of requests as one principal: the default limit would answer most
# of them 429, and the session's `live` stack is left alone for the other tests.
UNLIMITED = {f"{service.env_prefix}RATE_LIMIT": "1000000/minute" for service in SERVICES}
# These name other resources in their bodies. A drawn id names none, and the 422 that answers
# it (documented, the field named in `errors`) keeps a rule no schema can state; so does the one
# refusing platform:admin to an organization's API key, the one asking an HRIS source for
# the secret its vendor's UI set, and the one refusing a target that ends before it begins.
REFERENCING = [
    "create_engagement",
    "create_api_key",
    "create_requisition",
    "create_hris_source",
    "create_target",
    # Hiring names an engagement, a role, a candidate, a requisition or team members.
    "create_role",
    "create_candidate",
    "create_application",
    "create_employment_transfer",
    # Data points name an engagement and a metric in every line, and a request whose every
    # line names none is a 422; a series names metrics and a range that must hold periods; a
    # change cursor names a place in the feed, which no drawn cursor does.
    "ingest_points",
    "ingest_ndjson",
    "ingest_csv",
    "read_series",
    "pull_changes",
]
ACCEPTED_WITH_A_MISSING_REFERENCE = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

# A cursor is the encoded last key of a page; an encoded id is a place in every list (metric
# keys compare with it as text).
schemathesis.openapi.format(CURSOR_FORMAT, st.uuids().map(encode_cursor))
# NDJSON uploads are documented as text: sent as it is drawn.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")


@pytest.fixture(scope="module")
def fuzz_stack(pg_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    asyncio.run(drop_database(pg_server, FUZZ_DATABASE))
    stack = Stack(
        pg_server,
        tmp_path_factory.mktemp("fuzz"),
        Ports.from_gateway(free_port_block(4)),
        env=UNLIMITED,
        database=FUZZ_DATABASE,
    )
    try:
        yield stack.start()
    finally:
        stack.stop()
        asyncio.run(drop_database(pg_server, FUZZ_DATABASE))


@pytest.fixture(scope="module")
def contract(fuzz_stack: Stack) -> BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "base-url": fuzz_stack.gateway_url,
            "seed": SEED,
            "auth": {"openapi": {"bearer": {"bearer": fuzz_stack.admin_key}}},
            "generation": {"max-examples": MAX_EXAMPLES, "no-shrink": True, "database": "none"},
            # A change without If-Match is 428 Precondition Required (RFC 6585), as documented.
            "checks": {
                "missing_required_header": {
                    "expected-statuses": ["400", "401", "403", "406", "415", "422", "428"]
                }
            },
            "operations": [
                {
                    "include-operation-id": REFERENCING,
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ACCEPTED_WITH_A_MISSING_REFERENCE
                        }
                    },
                }
            ],
        }
    )
    return schemathesis.openapi.from_url(f"{fuzz_stack.gateway_url}/openapi.json", config=config)


@pytest.fixture(autouse=True)
def _node_id(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32 names each operation's subtest through `_nodeid`, gone in pytest 9.2.
    request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("contract")


@schema.parametrize()
def test_every_operation_keeps_its_contract(case: Case[Any]) -> None:
    case.call_and_validate()
