"""Hiring as KPIs see it: the facts talent tells, and the metrics derived from them."""
