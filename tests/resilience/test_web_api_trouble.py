"""Slack's Web API misbehaving while runs produce many messages in several channels and
threads: 429s with Retry-After (asked for, and the fake's own per-channel limit), 500s in a
row, an outage, and calls hanging longer than the client waits. Once Slack recovers, every
outbox message is delivered exactly once, in per-channel order, and each header shows its
run's last state."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bot.slack.blocks import actions as a
from tests.resilience.scenes import CHANNELS, click_payload, command, interactive, relay
from tests.resilience.stage import Stage, stage, wait_for
from tests.resilience.tally import tally

CLIENT_TIMEOUT = 0.3  # seconds; a hang is twice that
RUNS_PER_CHANNEL = 2
STEPS = ("one", "two", "three")


def produce(on: Stage, trouble_between: Callable[[int], object] = lambda n: None) -> list[str]:
    """Start two runs in each channel and take each through its tasks and approval, by
    signed requests, while Slack misbehaves; `trouble_between(n)` is called between rounds."""
    for n, channel in enumerate(CHANNELS * RUNS_PER_CHANNEL):
        assert command(on.url, f"start relay-{channel}", "U01ANN", trigger=f"start{n}") == 200
    on.settle()
    runs = on.run_ids()
    assert len(runs) == len(CHANNELS) * RUNS_PER_CHANNEL
    clicks = 0
    for round_, step in enumerate((*STEPS, "approve")):
        trouble_between(round_)
        for run_id in runs:
            clicks += 1
            action = a.APPROVE if step == "approve" else a.SUBMIT
            user = "U03CAT" if step == "approve" else "U01ANN"
            assert interactive(on.url, click_payload(action, run_id, step, user, clicks)) == 200
        on.settle()
    assert all(on.state(r).status.value == "completed" for r in runs)
    return runs


def finish(on: Stage, name: str, hangs: int = 0):
    on.drained(timeout=40)
    counted = tally(on, hangs=hangs)
    print(counted.line(name))
    return counted


@pytest.fixture
def make_stage(migrated_db_url, tmp_path):
    def make(**kw):
        return stage(migrated_db_url, tmp_path, {f"relay-{c}": relay(c) for c in CHANNELS},
                     client_timeout=CLIENT_TIMEOUT, **kw)
    return make


def test_rate_limits_are_waited_out(make_stage):
    # Our pacing is too eager on purpose (12/s per channel against Slack's 8/s): the fake
    # answers 429 with Retry-After; a few more 429s are asked for outright.
    with make_stage(fake={"rate": 8.0, "burst": 1}, messenger={"rate": 12.0, "burst": 2, "backoff_seconds": 0.05}) as on:
        on.fake.fail_next("chat.postMessage", times=4, status=429)
        on.fake.fail_next("chat.update", times=2, status=429)
        produce(on)
        counted = finish(on, "429")
    assert counted.ratelimited >= 6
    assert counted.faults == (0, 0, 0, 0), counted


def test_server_errors_in_a_row_then_recovery(make_stage):
    with make_stage(fake={"rate": 20.0, "burst": 5}, messenger={"rate": 20.0, "burst": 5, "backoff_seconds": 0.05}) as on:
        on.fake.fail_next("chat.postMessage", times=8, status=500)
        on.fake.fail_next("chat.update", times=4, status=502)
        on.fake.fail_next("conversations.history", times=2, status=500)
        produce(on, lambda n: on.fake.fail_next("chat.postMessage", times=3, status=500) if n == 2 else None)
        counted = finish(on, "500")
    assert counted.server_errors >= 15
    assert counted.faults == (0, 0, 0, 0), counted


def test_slack_down_for_a_while(make_stage):
    with make_stage(fake={"rate": 20.0, "burst": 5}, messenger={"rate": 20.0, "burst": 5, "backoff_seconds": 0.05}) as on:
        went_down = []

        def outage(round_: int) -> None:
            if round_ == 1:
                on.fake.set_down(True)
                went_down.append(time.monotonic())

        produce(on, outage)
        wait_for(lambda: time.monotonic() - went_down[0] > 1.5, 5)
        on.fake.set_down(False)
        counted = finish(on, "down")
    assert counted.server_errors >= 1
    assert counted.faults == (0, 0, 0, 0), counted


def test_calls_hanging_longer_than_the_client_waits(make_stage):
    # The fake applies a hung call when the hang ends, long after the client gave up: the
    # messenger must find those messages instead of posting them again.
    hangs = {"chat.postMessage": 4, "chat.update": 2, "conversations.history": 1}
    with make_stage(fake={"rate": 20.0, "burst": 5}, messenger={"rate": 20.0, "burst": 5, "backoff_seconds": 0.05}) as on:
        for method, times in hangs.items():
            on.fake.hang_next(method, 2 * CLIENT_TIMEOUT, times=times)
        produce(on, lambda n: on.fake.hang_next("chat.postMessage", 2 * CLIENT_TIMEOUT, times=2) if n == 2 else None)
        counted = finish(on, "hang", hangs=sum(hangs.values()) + 2)
    assert counted.lookups >= 6  # each post the client gave up on was looked for, not sent again
    assert counted.posts_tried == counted.messages
    assert counted.faults == (0, 0, 0, 0), counted


def test_posts_in_doubt_are_sent_when_slack_will_not_let_us_look(make_stage):
    # After a 500 a post is looked for before it is sent again; when Slack refuses the look
    # itself (as it refuses a `#name` for history), the post goes out rather than being lost.
    with make_stage(fake={"rate": 20.0, "burst": 5}, messenger={"rate": 20.0, "burst": 5, "backoff_seconds": 0.05}) as on:
        on.fake.fail_next("chat.postMessage", times=6, status=500)
        on.fake.fail_next("conversations.history", times=100, status=200, error="channel_not_found")
        produce(on)
        counted = finish(on, "lookups refused")
    assert counted.server_errors == 6 and counted.lookups >= 1
    assert counted.faults == (0, 0, 0, 0), counted


def test_retry_after_is_read_whatever_its_letter_case():
    from bot.slack.client import retry_after

    assert retry_after({"retry-after": "7"}) == 7.0  # as HTTP/2 proxies send it
    assert retry_after({"Retry-After": "soon"}) == 1.0
    assert retry_after({}) == 1.0
    assert retry_after(None) == 1.0 and retry_after({"Retry-After": "-3"}) == 0.0


def test_a_slack_as_slow_and_as_limited_as_the_real_one(migrated_db_url, tmp_path):
    """Every call answered after 100–300 ms (drawn from a seeded generator), Slack's per-method
    rate-limit tiers, history paged: the same runs, delivered once, in order, headers current."""
    with stage(migrated_db_url, tmp_path, {f"relay-{c}": relay(c) for c in CHANNELS}, client_timeout=2.0,
               fake={"latency": (0.1, 0.3), "tiers": True, "burst": 2},
               messenger={"burst": 2}) as on:
        produce(on)
        counted = finish(on, "field")
        held = [call.held for call in on.fake.calls]
    assert min(held) >= 0.1  # every call took as long as Slack does
    assert counted.faults == (0, 0, 0, 0), counted
