"""Every scenario, in the order they run.

To add one: a module here with its setup, its load and its target; a route in baseline.py
that does the same database work (or a `Baseline` of its own, such as a raw COPY for bulk
ingestion); and its name in ALL.
"""

from bench.scenario import AnyScenario
from bench.scenarios import engagements, gates, hris, kpi

ALL: list[AnyScenario] = [
    *engagements.SCENARIOS,
    *hris.SCENARIOS,
    *gates.SCENARIOS,
    *kpi.SCENARIOS,
]
