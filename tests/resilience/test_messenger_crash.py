"""The messenger dying mid-delivery, at each point where a message's fate is in doubt:
after the row is marked `sending` but before Slack is called; after Slack took a post but
before it was marked `sent`; after Slack took a header edit, likewise. A new messenger (as
after a restart) loses nothing and doubles nothing. A database failure while marking a row
sent, without a restart, is settled by the same messenger."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from typing import Any

import pytest

from bot.slack.blocks import actions as a
from bot.slack.messenger import Messenger
from tests.resilience.scenes import CHANNELS, click_payload, command, interactive, relay
from tests.resilience.stage import Stage, stage, wait_for
from tests.resilience.tally import tally


class Crash(BaseException):
    """The process dying: nothing in the messenger may catch it."""


def die_before_call(messenger: Messenger, nth: int) -> None:
    """The `nth` message dies after its `sending` mark, before Slack is called."""
    original, count = messenger._call, Counter()

    def call(row: Any, prepared: Any):
        count["calls"] += 1
        if count["calls"] == nth:
            raise Crash("died before calling Slack")
        return original(row, prepared)

    messenger._call = call  # type: ignore[method-assign]


def die_before_mark(messenger: Messenger, nth: int, kind: str, exception: type[BaseException] = Crash) -> None:
    """The `nth` row of `kind` dies after Slack answered, before it is marked sent."""
    original, count = messenger._mark_sent, Counter()

    def mark(conn, row, ts, channel):
        if row["kind"] == kind:
            count[kind] += 1
            if count[kind] == nth:
                raise exception("died after Slack answered")
        return original(conn, row, ts, channel)

    messenger._mark_sent = mark  # type: ignore[method-assign]


def until_crash(messenger: Messenger, stop: threading.Event) -> None:
    with contextlib.suppress(Crash):
        messenger.run(stop, idle_seconds=0.02)


@pytest.fixture
def on(migrated_db_url, tmp_path):
    with stage(migrated_db_url, tmp_path, {f"relay-{c}": relay(c) for c in CHANNELS}, fake={"rate": 50.0, "burst": 5},
               messenger={"rate": 50.0, "burst": 5, "backoff_seconds": 0.05}, deliver=False) as on:
        yield on


def click_all(on: Stage, step: str, offset: int) -> None:
    action, user = (a.APPROVE, "U03CAT") if step == "approve" else (a.SUBMIT, "U01ANN")
    for n, run in enumerate(on.run_ids()):
        assert interactive(on.url, click_payload(action, run, step, user, offset + n)) == 200
    on.settle()


def crash_while_delivering(on: Stage, plan) -> None:
    messenger = on.start_messenger(until_crash)
    plan(messenger)
    wait_for(lambda: not on.messenger_alive(), 20)


def test_a_restarted_messenger_loses_and_doubles_nothing(on):
    for n, channel in enumerate(CHANNELS * 2):
        assert command(on.url, f"start relay-{channel}", "U01ANN", trigger=f"start{n}") == 200
    on.settle()
    crashes = 0
    plans = [lambda m: die_before_call(m, 5), lambda m: die_before_mark(m, 4, "post"),
             lambda m: die_before_mark(m, 2, "update")]
    for round_, (step, plan) in enumerate(zip(("one", "two", "three"), plans, strict=True)):
        crash_while_delivering(on, plan)
        crashes += 1
        click_all(on, step, 100 * round_)
    # The last messenger meets a failed database write after Slack took a post, and goes on.
    survivor = on.start_messenger()
    die_before_mark(survivor, 3, "post", exception=RuntimeError)
    click_all(on, "approve", 900)
    on.drained(timeout=20)
    assert on.messenger_alive()
    counted = tally(on)
    print(counted.line(f"crash x{crashes} + 1 failed write"))
    assert counted.faults == (0, 0, 0, 0), counted
    assert on.scalar("select count(*) from outbox where status != 'sent'") == 0
