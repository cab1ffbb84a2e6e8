"""The kpi service, as talent reaches it: only by the facts talent tells it."""

UPSTREAM = "kpi"
