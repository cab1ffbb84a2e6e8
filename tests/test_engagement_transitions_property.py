"""Random sequences of transitions, changes and stale writes, against the real service: an
engagement never reaches a state its delivery model does not allow, and its phase, owner,
version, phase dates and audit trail always agree with what was accepted."""

import asyncio
from typing import Any
from uuid import uuid4

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from handover_shared.engagements import Phase
from tests.builders import BlockingTransport
from tests.test_engagement_lifecycle import Lifecycle, lifecycle  # noqa: F401 (a fixture)

BOT = {"build": ["operate"], "operate": ["transfer", "managed"], "transfer": ["transferred"]}
BTO = {"build": ["transfer"], "transfer": ["transferred"]}
FINAL = {"transferred", "terminated"}


def expected_next(model: str, phase: str) -> list[str]:
    targets = set((BOT if model == "bot" else BTO).get(phase, []))
    if phase not in FINAL:
        targets.add("terminated")
    return [p.value for p in Phase if p.value in targets]


async def test_random_transition_sequences_never_reach_an_inconsistent_state(
    lifecycle: Lifecycle,  # noqa: F811 (the imported fixture)
) -> None:
    loop = asyncio.get_running_loop()
    transport = BlockingTransport(httpx.ASGITransport(app=lifecycle.app), loop)
    api = httpx.Client(
        transport=transport,
        base_url="http://engagements",
        headers=dict(lifecycle.api.headers),
    )

    class Engagement(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.id = ""
            self.model = "bot"
            self.phase = "build"
            self.version = 1
            self.changes = 1  # the creation is the first entry of the audit trail
            self.entered: list[str] = ["build"]

        @initialize(model=st.sampled_from(["bot", "bto"]), hired=st.booleans())
        def create(self, model: str, hired: bool) -> None:
            parties = [
                api.post(
                    "/v1/organizations", json={"name": f"{kind} {uuid4()}", "kind": kind}
                ).json()["id"]
                for kind in ("client", "partner")
            ]
            response = api.post(
                "/v1/engagements",
                json={
                    "name": "Property",
                    "client_id": parties[0],
                    "partner_id": parties[1],
                    "delivery_model": model,
                    "planned_headcount": 2,
                },
            )
            assert response.status_code == 201, response.text
            self.id, self.model = response.json()["id"], model
            if hired:
                lifecycle.upstreams.hire(self.id, 2)

        def _post_move(self, target: str, override: bool, version: int) -> httpx.Response:
            body: dict[str, Any] = {"to_phase": target}
            if override:
                body |= {"override": True, "reason": "Property test"}
            return api.post(
                f"/v1/engagements/{self.id}/transitions",
                json=body,
                headers={"If-Match": f'"{version}"'},
            )

        @rule(to_phase=st.sampled_from([p.value for p in Phase]), override=st.booleans())
        def move(self, to_phase: str, override: bool) -> None:
            legal = to_phase in expected_next(self.model, self.phase)
            response = self._post_move(to_phase, override, self.version)
            if response.status_code == 200:
                assert legal, (self.phase, to_phase)
                self.phase, self.version, self.changes = (
                    to_phase,
                    self.version + 1,
                    self.changes + 1,
                )
                self.entered.append(to_phase)
                return
            assert response.status_code == 409, response.text
            problem = response.json()
            if not legal:
                assert problem["type"] == "/problems/illegal-transition"
                assert problem["allowed_transitions"] == expected_next(self.model, self.phase)
            else:
                assert problem["type"] == "/problems/gate-not-passed"
                assert not override
                assert problem["unmet"]

        @rule(to_phase=st.sampled_from([p.value for p in Phase]))
        def move_with_a_stale_version(self, to_phase: str) -> None:
            response = self._post_move(to_phase, True, self.version - 1)
            assert response.status_code == 412, response.text
            assert response.json()["current_etag"] == f'"{self.version}"'

        @rule(site=st.sampled_from(["Manila", "Cebu", None]))
        def change_the_site(self, site: str | None) -> None:
            response = api.patch(
                f"/v1/engagements/{self.id}",
                json={"site": site},
                headers={"If-Match": f'"{self.version}"'},
            )
            assert response.status_code == 200, response.text
            if response.headers["etag"] != f'"{self.version}"':
                self.version, self.changes = self.version + 1, self.changes + 1

        @invariant()
        def agrees_with_what_was_accepted(self) -> None:
            if not self.id:
                return
            response = api.get(f"/v1/engagements/{self.id}")
            engagement = response.json()
            assert engagement["phase"] == self.phase
            assert response.headers["etag"] == f'"{self.version}"' == f'"{engagement["version"]}"'
            assert engagement["owner"] == ("client" if self.phase == "transferred" else "partner")
            assert engagement["next_phases"] == expected_next(self.model, self.phase)

            timeline = api.get(f"/v1/engagements/{self.id}/timeline").json()["phases"]
            started = {row["phase"]: row for row in timeline if row["actual_start"]}
            assert set(started) == set(self.entered)
            running = [row["phase"] for row in started.values() if row["actual_end"] is None]
            assert running == [self.phase]

            trail = api.get(f"/v1/engagements/{self.id}/audit-trail", params={"limit": 200})
            assert len(trail.json()["items"]) == self.changes

    def run() -> None:
        run_state_machine_as_test(
            Engagement,
            settings=settings(
                max_examples=25,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )

    with api:
        await asyncio.to_thread(run)
