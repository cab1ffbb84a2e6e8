"""Scorecards: each active target of an engagement against its metric's latest value, and the
transfer-readiness verdict drawn from them."""
