"""Benchmarks of the real system, each against a baseline measured in the same run.

`python3 dev.py bench` (or `make bench`) runs them; README.md says what they measure and how.
"""
