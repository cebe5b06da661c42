"""The leading `conductor clock` killed (SIGKILL) while Slack holds one of its messenger's
calls, and the clock standing by taking over on the same database and the same Slack.

A run of automated steps (a wait, then posts in its thread) goes on by itself under the
clocks, started from the test on the same database. Slack holds one call of the first leader,
which dies with it: a thread post the new leader must not send again, a header posted to a
channel the workflow names `#name` that must not be posted again, a header edit that lands
after the new leader's newer ones and must not be the last word.

Slack applies a held call within a few client timeouts (SLACK_TIMEOUT_SECONDS; the messenger
looks for a post given up on only after three): here the hold ends at HOLD_TIMEOUTS of them,
or sooner, once the test has seen the new leader do what the hold waits for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.polling import wait_for
from tests.resilience.clock_process import (
    HoldingSlack,
    Scene,
    key_of,
    keys_shown,
    leader_and_standby,
    looked_up,
    texts,
)

HOLD_TIMEOUTS = 2.25  # a held call lands within this many client timeouts of reaching Slack
TAKEOVER_SECONDS = 2.5  # the standby polls the lock every 2 s
SETTLE_SECONDS = 25.0  # generous: what the tests wait for comes much sooner
WORKFLOW = """
id: leader-death
name: Leader death
channel: "{channel}"
steps:
  - id: pause
    name: Pause
    uses: conductor/wait
    with: {{for: {pause}}}
"""
POST = """
  - id: {text}
    name: {text}
    uses: conductor/post
    with: {{text: {text}}}
"""
DONE = ": completed · {n} of {n} steps done"


@contextmanager
def clocks(db_url: str, tmp_path: Path, channel: str, posts: tuple[str, ...], *, timeout: float,
           pause: str = "1s") -> Iterator[Scene]:
    """The two clocks on a workflow conducted in `channel` (a wait, then `posts` in the
    thread), with SLACK_TIMEOUT_SECONDS=`timeout`. Slack's own rate limit is generous, so a
    held post is not refused when it lands."""
    source = WORKFLOW.format(channel=channel, pause=pause) + "".join(POST.format(text=text) for text in posts)
    with HoldingSlack(rate=20.0, burst=5) as slack, leader_and_standby(
            db_url, tmp_path, {"leader-death": source}, slack, client_timeout=timeout) as on:
        yield on


def settle(on: Scene, run_id: str) -> None:
    wait_for(lambda: on.settled(run_id), SETTLE_SECONDS, on.logs)


def headers_in(on: Scene, channel: str, run_id: str) -> list[dict]:
    """The channel's messages that are this run's header (its `run_started` row's key)."""
    rows = on.rows("select dedupe_key, payload from outbox where run_id = :r", r=run_id)
    (key,) = [k for k, p in rows if (json.loads(p) if isinstance(p, str) else p).get("kind") == "run_started"]
    return [m for m in on.slack.messages(channel) if key_of(m) == key]


def test_a_post_slack_still_holds_is_not_sent_again(migrated_db_url, tmp_path):
    """The leader dies while Slack holds a thread post. Looking for it at once finds nothing;
    posting it again then would show it twice ("done, complete, done")."""
    timeout = 2.0
    with clocks(migrated_db_url, tmp_path, "C0LEADER1", ("done", "complete"), timeout=timeout) as on:
        # The first post in the run's thread ("done"): Slack takes it and holds it.
        held = on.slack.hold("chat.postMessage", HOLD_TIMEOUTS * timeout, match=lambda p: bool(p.get("thread_ts")))
        run_id = on.start_run("leader-death")
        wait_for(held.arrived.is_set, SETTLE_SECONDS, on.logs)
        on.kill_leader_and_take_over()
        # Slack applies it once the new leader has looked for it, or at the end of the hold.
        wait_for(lambda: looked_up(on.slack) or held.landed.is_set(), SETTLE_SECONDS, on.logs)
        held.release.set()
        wait_for(held.landed.is_set, SETTLE_SECONDS)
        settle(on, run_id)
        channel = on.run_channel(run_id)
        shown = keys_shown(on.slack, channel)
        doubled = {key: n for key, n in shown.items() if n > 1}
        assert not doubled, f"posted twice: {doubled}; the channel reads {texts(on.slack, channel)}"
        assert sorted(shown) == sorted(on.post_keys()), on.logs()


def test_a_header_posted_to_a_named_channel_is_not_posted_again(migrated_db_url, tmp_path):
    """The workflow names its channel `#name`, which Slack's history does not take (it answers
    `channel_not_found`): the header must be looked for by the channel's id, not posted again
    (a second header, the first one reading "0 of 3 steps done" for good)."""
    with clocks(migrated_db_url, tmp_path, "#leader-death", ("done", "complete"), timeout=1.0) as on:
        channel = on.slack.add_channel("#leader-death")
        # Slack takes the header and shows it; its answer never reaches the leader.
        held = on.slack.hold("chat.postMessage", 2 * SETTLE_SECONDS, apply_first=True)
        run_id = on.start_run("leader-death")
        wait_for(held.landed.is_set, SETTLE_SECONDS, on.logs)
        on.kill_leader_and_take_over()
        settle(on, run_id)
        headers = [h["text"] for h in headers_in(on, channel, run_id)]
        assert len(headers) == 1, f"{len(headers)} headers: {headers}"
        assert headers[0].endswith(DONE.format(n=3)), headers
        assert sorted(keys_shown(on.slack, channel)) == sorted(on.post_keys()), texts(on.slack, channel)


def test_a_header_edit_slack_held_does_not_land_last(migrated_db_url, tmp_path):
    """The leader dies while Slack holds a header edit (the run waiting, nothing done); the new
    leader completes the run and edits the header; then the held edit lands. The header must
    not be left showing that older state."""
    timeout = 3.0
    with clocks(migrated_db_url, tmp_path, "C0LEADER3", ("done",), timeout=timeout, pause="2s") as on:
        # The header's first edit (the run waiting, 0 of 2 steps done): Slack holds it.
        held = on.slack.hold("chat.update", HOLD_TIMEOUTS * timeout)
        run_id = on.start_run("leader-death")
        wait_for(held.arrived.is_set, SETTLE_SECONDS, on.logs)
        on.kill_leader_and_take_over()
        (thread_ts,) = [ts for (ts,) in on.rows("select thread_ts from runs where id = :r", r=run_id)]
        channel = on.run_channel(run_id)

        def header() -> str:
            return next(m["text"] for m in on.slack.messages(channel) if m["ts"] == thread_ts)

        # Slack applies it once the new leader has completed the run and made its edits (all
        # of the outbox sent), or at the end of the hold.
        wait_for(lambda: on.settled(run_id) or held.landed.is_set(), SETTLE_SECONDS, on.logs)
        held.release.set()
        wait_for(held.landed.is_set, SETTLE_SECONDS)
        # Within a few client timeouts of the takeover, the header shows how the run ended.
        deadline = held.arrived_at + TAKEOVER_SECONDS + 3 * timeout + 2.0
        wait_for(lambda: on.settled(run_id) and header().endswith(DONE.format(n=2)),
                 max(deadline - time.monotonic(), 0.0),
                 lambda: f"the header reads {header()!r} since the held edit ({held.params.get('text')!r}) "
                         f"landed, {time.monotonic() - held.arrived_at:.1f} s after it reached Slack")
