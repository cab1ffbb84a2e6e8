"""Typed clients of the other services, as kpi uses them."""
