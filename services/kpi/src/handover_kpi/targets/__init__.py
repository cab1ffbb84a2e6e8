"""Targets: what an engagement's metrics are held to, set by hand or told as SLAs."""
