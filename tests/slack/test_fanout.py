"""A stand-up's fan-out survives a crash of the messenger mid-way: everyone asked exactly once."""

from __future__ import annotations

from tests.benchmarks.standup_fanout import run


def test_each_person_is_asked_exactly_once_across_a_crash():
    result = run(people=60, workspace_rate=200.0, crash_after=30)
    assert (result["lost"], result["doubled"]) == (0, 0)
