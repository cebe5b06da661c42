"""A stand-up's fan-out through real `conductor clock` processes, one of them killed (SIGKILL)
midway: everyone asked exactly once, with one clock and across the kill."""

from __future__ import annotations

from tests.benchmarks.standup_fanout import run


def test_each_person_is_asked_exactly_once_across_a_killed_clock():
    result = run(60, 200.0, latency=0.0, kill_after=30, slack_timeout=1.0)
    for fanout in (result.one_clock, result.killed):
        assert (fanout.prompted, fanout.lost, fanout.doubled) == (60, 0, 0), fanout
    assert result.killed.clocks == 2 and result.killed.killed_after is not None
