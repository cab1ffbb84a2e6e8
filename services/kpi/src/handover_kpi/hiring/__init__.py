"""Hiring as KPIs see it: the facts talent tells, kept for time to hire and cost per role."""
