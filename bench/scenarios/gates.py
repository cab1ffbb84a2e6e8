"""A gate's dry run, where engagements asks the other services over HTTP.

No gate asks both talent and kpi, so the requests alternate between two engagements of one
partner: one in build, checked for `operate` (its hiring plan, asked of talent, and its build
milestones); one in operate, checked for `transfer` (its KPI readiness, asked of kpi, with
its transfer plan and client entity). Each has a little of what those answers are drawn from:
an open requisition, a build milestone, KPI targets with readings.

The issue sets an absolute bound (p99 under 50 ms at 16 connections). The baseline beside it
is the practical limit of the same work on this stack: the bare app does the engagements
service's own reads for the same gates, then asks a second process of itself over HTTP, with
the services' client, for what talent or kpi answers (their statements, as their roles).
Where the bare chain itself does not keep under the bound, the host cannot.
"""

from dataclasses import dataclass
from typing import Any

import httpx

from bench.scenario import LUA, BareApp, Context, Load, Scenario, Target
from bench.scenarios import api
from handover_shared.auth import Scope

CONNECTIONS = 16
READINESS_METRICS = {"quality_score": 91.5, "sla_compliance": 97.0}


@dataclass(frozen=True)
class Gates:
    token: str
    """An API key of the engagements' partner, with `engagements:read`."""
    paths: list[str]


async def _hiring(http: httpx.AsyncClient, engagement: dict[str, Any]) -> None:
    await api.open_requisition(http, engagement["id"], headcount=4)
    await api.created(
        http,
        f"/v1/engagements/{engagement['id']}/milestones",
        {"phase": "build", "title": "Team onboarded", "owner": "partner"},
    )


async def _operating(http: httpx.AsyncClient, engagement: dict[str, Any]) -> None:
    moved = await http.post(
        f"/v1/engagements/{engagement['id']}/transitions",
        json={"to_phase": "operate", "override": True, "reason": "Benchmark data"},
        headers={"If-Match": f'"{engagement["version"]}"'},
    )
    moved.raise_for_status()
    for metric, value in READINESS_METRICS.items():
        await api.created(
            http,
            "/v1/targets",
            {
                "engagement_id": engagement["id"],
                "metric_key": metric,
                "comparator": "gte",
                "threshold": 90.0,
            },
        )
        await api.created(
            http,
            "/v1/data-points",
            {
                "points": [
                    {
                        "engagement_id": engagement["id"],
                        "metric_key": metric,
                        "at": f"2026-10-0{day}T00:00:00Z",
                        "value": value + day,
                    }
                    for day in (1, 2, 3)
                ]
            },
        )


async def setup(context: Context) -> Gates:
    async with api.admin(context) as http:
        building = await api.engagement(http, "Gate benchmark", planned_headcount=4)
        operating = await api.created(
            http,
            "/v1/engagements",
            {
                "name": "Gate benchmark, operating",
                "client_id": building["client_id"],
                "partner_id": building["partner_id"],
                "delivery_model": "bot",
            },
        )
        await _hiring(http, building)
        await _operating(http, operating)
        token = await api.api_key(
            http, "gate benchmark", [Scope.ENGAGEMENTS_READ], building["partner_id"]
        )
        paths = [
            f"/v1/engagements/{building['id']}/gates/operate",
            f"/v1/engagements/{operating['id']}/gates/transfer",
        ]
        for path in paths:
            await api.check_key(http, token, path)
    return Gates(token, paths)


DRY_RUN = Scenario(
    name="gate-dry-run",
    title=f"gate dry run (asks talent or kpi), {CONNECTIONS} connections",
    setup=setup,
    load=lambda data: Load(LUA / "get.lua", data.token, data.paths, connections=CONNECTIONS),
    target=Target(min_ratio=0.0, max_p99_ms=50),
    services=("engagements", "talent", "kpi"),
    baseline=BareApp(
        "bare app: its own reads, then asks a second bare process over httpx; same Caddy"
    ),
)

SCENARIOS = [DRY_RUN]
