"""The messenger in the field: lanes that move at once and never hold each other back, names
turned into ids before Slack is asked, an unconfirmed post found however deep in a busy
channel's history, and a post whose call may still be applied waited for before it is sent
again. Against the local Slack over HTTP, on the real service and database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import update

from bot.slack.messenger import OUTBOX
from bot.slack.sent_lookup import metadata_for
from tests.polling import wait_for
from tests.slack.messenger_stage import drain, messenger_stage
from tests.slack.test_messenger import render

WORKFLOW = """
id: chat
channel: "#work"
roles:
  team: [U01ANN, U02BOB]
steps:
  - {id: one, ask: team, prompt: "First {{ inputs.n }}", outputs: {x: string}}
inputs:
  n: integer
"""


@pytest.fixture
def env(migrated_db_url, tmp_path):
    with messenger_stage(migrated_db_url, tmp_path / "wf", WORKFLOW, render) as h:
        h.fake.add_channel("#work")
        h.fake.add_channel("#other")
        yield h


def enqueue(h, channel: str, key: str, text_: str = "hello", kind: str = "post") -> int:
    with h.engine.begin() as conn:
        return conn.execute(OUTBOX.insert().values(
            channel=channel, kind=kind, payload={"kind": "note", "text": text_}, status="pending",
            next_attempt_at=datetime.now(UTC), dedupe_key=key, created_at=datetime.now(UTC))).inserted_primary_key[0]


def test_lanes_stalled_in_their_hundreds_hold_back_no_other_channel(env):
    h = env
    later = datetime.now(UTC) + timedelta(hours=1)
    for n in range(250):  # 250 DMs, each the head of its own lane, backing off for an hour
        enqueue(h, f"U{n:05d}Z", f"stalled-{n}", kind="dm")
    with h.engine.begin() as conn:
        conn.execute(update(OUTBOX).values(next_attempt_at=later))
    enqueue(h, "#other", "moving")
    assert h.messenger.deliver_due() == 1  # the first pass, not after the stalled ones
    assert [m["text"] for m in h.fake.messages("#other")] == ["note: hello"]


def test_a_lane_waiting_on_slack_does_not_hold_back_another(env):
    h = env
    h.messenger.client.timeout = 10  # the hold below is answered, however loaded the machine
    h.fake.hang_next("chat.postMessage", 1.0)  # the first post is held by Slack for a second
    enqueue(h, "#work", "held")
    stop = threading.Event()
    sender = threading.Thread(target=h.messenger.run, args=(stop,), kwargs={"idle_seconds": 0.02})
    sender.start()
    try:
        wait_for(lambda: h.fake.calls_to("chat.postMessage"), 5)
        enqueue(h, "#other", "free")
        wait_for(lambda: h.fake.messages("#other"), 5)
        # The other channel's post landed while the first was still held by Slack.
        assert h.fake.messages("#work") == []
        wait_for(lambda: h.fake.messages("#work"), 5)
    finally:
        stop.set()
        sender.join()
    assert h.count("select count(*) from outbox where status = 'sent'") == 2


def test_many_lanes_are_called_at_once_and_each_keeps_its_order(env):
    h = env
    h.fake.set_latency(0.8)  # under the client timeout (1 s)
    h.messenger.concurrency = 8
    for n in range(8):
        for m in range(2):
            enqueue(h, f"U{n:05d}Y", f"dm-{n}-{m}", text_=f"{m}", kind="dm")
    assert h.messenger.deliver_due() == 8  # one call per lane in one pass...
    calls = sorted(h.fake.calls_to("chat.postMessage"), key=lambda call: call.at)
    # ...in flight together: a call reached Slack before an earlier one was answered (one at a
    # time, each would arrive only after the one before had been held and answered).
    answered = [call.at + call.held for call in calls]
    assert any(later.at < answered[n] for n, call in enumerate(calls) for later in calls[n + 1:])
    drain(h)
    for n in range(8):
        assert [m["text"] for m in h.fake.messages(f"U{n:05d}Y")] == ["note: 0", "note: 1"]


def test_a_named_channel_is_looked_up_by_its_id_and_listed_once(env):
    h = env
    ids = [enqueue(h, "#work", f"named-{n}") for n in range(3)]
    drain(h)
    listed = len(h.fake.calls_to("conversations.list"))
    with h.engine.begin() as conn:  # as if each call's answer had been lost
        conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(status="sending", claimed_at=None))
    h.messenger = type(h.messenger)(h.engine, h.messenger.client, h.versions, render=render)  # a new leader
    h.messenger.recover()
    drain(h)
    work = h.fake.channel_id("#work")
    looked = h.fake.calls_to("conversations.history")
    assert looked and {call.params["channel"] for call in looked} == {work}
    assert len(h.fake.calls_to("conversations.list")) - listed == 1  # the new leader's one listing
    assert [m["text"] for m in h.fake.messages(work)] == ["note: hello"] * 3  # none posted twice


def test_an_unconfirmed_post_is_found_pages_deep_in_a_busy_channel(env):
    h = env
    h.fake.rate, h.fake.burst = 1e6, 10**6  # people post faster than a bot may
    row = enqueue(h, "#work", "deep")
    drain(h)
    chatter = WebClient(token="xoxb-test", base_url=h.fake.url)
    for n in range(450):  # people talk after it: the post is now on the fifth page or later
        chatter.chat_postMessage(channel="#work", text=f"chat {n}")
    with h.engine.begin() as conn:
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == row).values(status="sending", claimed_at=None))
    h.messenger.recover()
    drain(h)
    pages = h.fake.calls_to("conversations.history")
    assert len(pages) >= 3 and all(call.params.get("channel") == h.fake.channel_id("#work") for call in pages)
    ours = [m for m in h.fake.messages("#work") if m.get("metadata") == metadata_for("deep")]
    assert len(ours) == 1  # found, not posted again


def test_a_post_whose_call_may_still_be_applied_is_waited_for_not_sent_again(env):
    h = env
    now = [datetime.now(UTC)]
    h.messenger.clock = lambda: now[0]
    window = timedelta(seconds=h.messenger.late_apply_seconds)
    row = enqueue(h, "#work", "held")
    # A leader died mid-call: the row was claimed, Slack holds the post and has not applied it yet.
    with h.engine.begin() as conn:
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == row).values(status="sending", claimed_at=now[0], attempts=1))
    assert h.messenger.recover() == 1
    h.messenger.deliver_due()  # looked for at once: not there yet, and not sent
    assert h.fake.messages("#work") == [] and len(h.fake.calls_to("conversations.history")) == 1
    assert h.count("select count(*) from outbox where status = 'pending'") == 1
    # Slack applies the held call; once the window has passed the post is found, not sent again.
    WebClient(token="xoxb-test", base_url=h.fake.url).chat_postMessage(
        channel="#work", text="note: hello", metadata=metadata_for("held"))
    now[0] += window + timedelta(seconds=1)
    with h.engine.begin() as conn:
        conn.execute(update(OUTBOX).values(next_attempt_at=now[0]))
    h.messenger.deliver_due()
    assert len(h.fake.messages("#work")) == 1
    assert h.count("select count(*) from outbox where status = 'sent'") == 1
    assert len(h.fake.calls_to("chat.postMessage")) == 1  # only the held one, never ours again


def test_a_post_that_never_reached_slack_is_sent_once_the_window_has_passed(env):
    h = env
    now = [datetime.now(UTC)]
    h.messenger.clock = lambda: now[0]
    row = enqueue(h, "#work", "lost")
    with h.engine.begin() as conn:
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == row).values(status="sending", claimed_at=now[0], attempts=1))
    h.messenger.recover()
    h.messenger.deliver_due()
    assert h.fake.messages("#work") == []
    now[0] += timedelta(seconds=h.messenger.late_apply_seconds + 1)
    with h.engine.begin() as conn:
        conn.execute(update(OUTBOX).values(next_attempt_at=now[0]))
    h.messenger.deliver_due()
    assert [m["text"] for m in h.fake.messages("#work")] == ["note: hello"]
