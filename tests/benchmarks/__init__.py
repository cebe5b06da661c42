"""Benchmarks: scripts that print figures. Run one with `python -m tests.benchmarks.<name>`,
or all of them as one table with `python -m tests.benchmarks [--quick]`."""
