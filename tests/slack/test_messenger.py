"""The outbox messenger against the fake Slack: order, rate limits, failures, crash safety."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text, update

from bot.engine import events as ev
from bot.slack.messenger import OUTBOX
from tests.slack.messenger_stage import drain, messenger_stage

WORKFLOW = """
id: chat
channel: "#work"
roles:
  team: [U01ANN, U02BOB]
steps:
  - {id: one, ask: team, prompt: "First {{ inputs.n }}", outputs: {x: string}}
  - {id: two, ask: team, prompt: "Second", outputs: {x: string}}
inputs:
  n: integer
"""


def render(payload, context):
    return {"text": f"{payload['kind']}: {payload.get('text', '')}".strip()}


@pytest.fixture
def env(migrated_db_url, tmp_path):
    with messenger_stage(migrated_db_url, tmp_path / "wf", WORKFLOW, render) as h:
        yield h


def test_a_run_becomes_a_header_with_a_thread_and_edits(env):
    h = env
    run = h.service.start("chat", "U01ANN", {"n": 1}, key="s").run_id
    h.service.handle(run, ev.Answer("one", "U02BOB", {"x": "done"}), key="a")
    drain(h)
    channel = h.fake.channel_id("#work")
    messages = h.fake.messages(channel)
    header = messages[0]
    assert header["text"] == "header:" and header.get("edited")  # the run_started post, edited in place
    replies = [m["text"] for m in h.fake.thread(channel, header["ts"])[1:]]
    assert replies == ["ask: First 1", "step_finished:", "ask: Second"]
    assert h.count("select count(*) from runs where thread_ts is not null") == 1
    assert h.count("select count(*) from outbox where status = 'sent'") == h.count("select count(*) from outbox")


def test_per_channel_rate_and_order_are_kept_under_429(env):
    h = env
    h.fake.burst = 0
    runs = [h.service.start("chat", "U01ANN", {"n": n}, key=f"s{n}").run_id for n in range(3)]
    h.messenger.rate, h.messenger.burst = 50.0, 5  # our pacing too eager on purpose: Slack answers 429
    h.messenger.buckets.clear()
    drain(h, 30)
    posts = [c for c in h.fake.calls_to("chat.postMessage") if c.status == 200]
    times = [c.at for c in posts]
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(times))  # about one per second in the channel
    assert h.fake.ratelimited_count > 0
    channel = h.fake.channel_id("#work")
    texts = [m["text"] for m in h.fake.messages(channel)]  # headers were edited after posting
    assert texts == ["header:", "ask: First 0", "header:", "ask: First 1", "header:", "ask: First 2"]
    assert h.count("select count(*) from runs where thread_ts is not null") == len(runs)
    assert len(posts) == len({c.params["metadata"]["event_payload"]["key"] for c in posts})  # none doubled


def test_server_errors_are_retried_and_refusals_kept_for_people(env):
    h = env
    h.fake.fail_next("chat.postMessage", times=2, status=500)
    h.service.start("chat", "U01ANN", {"n": 1}, key="s")
    h.messenger.clock = lambda: datetime.now(UTC)
    deadline = time.monotonic() + 20
    while h.count("select count(*) from outbox where status = 'sent' and cast(payload as text) like '%run_started%'") == 0:
        h.messenger.deliver_due()
        with h.engine.begin() as conn:  # skip the backoff wait in the test
            conn.execute(update(OUTBOX).where(OUTBOX.c.status == "pending").values(next_attempt_at=datetime.now(UTC)))
        assert time.monotonic() < deadline
    assert h.count("select attempts from outbox where cast(payload as text) like '%run_started%'") == 3
    h.fake.fail_next("chat.postMessage", times=1, status=200, error="channel_not_found")
    drain(h)
    assert h.count("select count(*) from outbox where status = 'failed' and error = 'channel_not_found'") == 1


def test_a_crash_between_sending_and_recording_does_not_double(env):
    h = env
    h.service.start("chat", "U01ANN", {"n": 1}, key="s")
    drain(h)
    before = len(h.fake.calls_to("chat.postMessage"))
    # Pretend we crashed after Slack accepted a post but before it was marked sent.
    with h.engine.begin() as conn:
        conn.execute(text("update outbox set status = 'sending' where cast(payload as text) like '%\"ask\"%'"))
    assert h.messenger.recover() == 1
    drain(h)
    assert len(h.fake.calls_to("chat.postMessage")) == before
    # And one that never reached Slack is sent again.
    with h.engine.begin() as conn:
        conn.execute(text("update outbox set status = 'sending', slack_ts = null where cast(payload as text) like '%\"ask\"%'"))
        conn.execute(text("delete from outbox where status = 'sent' and cast(payload as text) like '%\"ask\"%'"))
    channel = h.fake.channel_id("#work")
    h.fake._messages[channel] = [m for m in h.fake._messages[channel] if not m["text"].startswith("ask")]
    h.messenger.recover()
    drain(h)
    assert len(h.fake.calls_to("chat.postMessage")) == before + 1


def test_slack_down_then_back_loses_nothing(env):
    h = env
    h.fake.set_down(True)
    h.service.start("chat", "U01ANN", {"n": 1}, key="s")
    stop = threading.Event()
    worker = threading.Thread(target=h.messenger.run, args=(stop,))
    worker.start()
    time.sleep(1.0)
    h.fake.set_down(False)
    with h.engine.begin() as conn:
        conn.execute(update(OUTBOX).where(OUTBOX.c.status == "pending").values(next_attempt_at=datetime.now(UTC)))
    deadline = time.monotonic() + 15
    while h.count("select count(*) from outbox where status != 'sent'") and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    worker.join()
    assert h.count("select count(*) from outbox where status != 'sent'") == 0


def test_pending_header_updates_of_a_run_are_sent_as_one_edit(env):
    h = env
    run = h.service.start("chat", "U01ANN", {"n": 1}, key="s").run_id
    h.messenger.deliver_due()  # the header is posted; the run has its thread
    h.service.handle(run, ev.Answer("one", "U02BOB", {"x": "done"}), key="a")
    h.service.handle(run, ev.Answer("two", "U02BOB", {"x": "done"}), key="b")
    pending = h.count("select count(*) from outbox where kind = 'update' and status = 'pending'")
    assert pending >= 2
    edits_before = len(h.fake.calls_to("chat.update"))
    drain(h)
    assert len(h.fake.calls_to("chat.update")) - edits_before == 1  # the newest state, once
    assert h.count("select count(*) from outbox where status <> 'sent'") == 0
