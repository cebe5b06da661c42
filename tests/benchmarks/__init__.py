"""Benchmarks: scripts that print figures. Run one with `python -m tests.benchmarks.<name>`."""
