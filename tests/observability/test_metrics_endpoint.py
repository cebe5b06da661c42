"""`GET /metrics` on the real app over HTTP: the figures follow a run driven by signed Slack
requests, the outbox's depth follows delivery, and every acknowledgement is counted."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from bot.observability.metrics import count_slack_ratelimited
from bot.slack.blocks.outbox import render_outbox
from bot.slack.client import make_client
from bot.slack.messenger import Messenger
from tests.fakeslack import FakeSlack
from tests.observability.served import app_with_metrics, scrape, value, wait_for
from tests.slack.live import slack_settings
from tests.slack.signed import event, slash_command

WORKFLOW = """
id: review
channel: "#work"
roles: {team: [U01ANN, U02BOB]}
permissions: {start: [team]}
steps:
  - {id: write, ask: starter, outputs: {text: text}}
"""
ACK = "conductor_slack_ack_seconds_count"
UNDELIVERED = "select count(*) from outbox where status in ('pending', 'sending')"


@pytest.fixture
def served(migrated_db_url, tmp_path):
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, {"review.yaml": WORKFLOW})
        with app_with_metrics(settings) as (url, base, runtime):
            yield url, base, runtime, fake, settings


def scalar(runtime, sql: str):
    with runtime.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def first_row(runtime, sql: str):
    with runtime.engine.connect() as conn:
        return conn.execute(text(sql)).first()


def deliver_all(runtime, settings) -> None:
    messenger = Messenger(runtime.engine, make_client(settings), runtime.versions, render=render_outbox)
    wait_for(lambda: messenger.deliver_due() == 0 and scalar(runtime, UNDELIVERED) == 0)


def test_figures_follow_a_run_from_start_to_end(served):
    url, base, runtime, fake, settings = served
    before = scrape(base)
    assert value(before, "conductor_database_up") == 1
    assert not any(name == "conductor_runs" for name, _ in before)  # no run yet: no workflow series
    assert value(before, "conductor_outbox_pending_messages") == 0
    assert value(before, "conductor_outbox_oldest_pending_age_seconds") == 0
    acks = value(before, ACK, status="200")

    status, _, _ = slash_command(url, 'start review')
    assert status == 200
    run_id = wait_for(lambda: scalar(runtime, "select id from runs"))
    wait_for(lambda: scalar(runtime, "select count(*) from outbox") > 0)

    # Written, not delivered (no messenger runs yet): the outbox holds them.
    started = scrape(base)
    pending = scalar(runtime, "select count(*) from outbox where status = 'pending'")
    assert pending >= 1
    assert value(started, "conductor_outbox_pending_messages") == pending
    assert value(started, "conductor_outbox_oldest_pending_age_seconds") >= 0
    assert value(started, "conductor_runs", workflow="review", state="waiting") == 1
    assert value(started, "conductor_runs", workflow="review", state="completed") == 0
    assert value(started, "conductor_steps_waiting_on_people", workflow="review") == 1
    assert value(started, "conductor_steps_escalated", workflow="review") == 0
    assert value(started, ACK, status="200") == acks + 1

    # The oldest message ages while it waits (measured from its row, so it grows between scrapes).
    time.sleep(0.05)
    assert value(scrape(base), "conductor_outbox_oldest_pending_age_seconds") > value(
        started, "conductor_outbox_oldest_pending_age_seconds")

    deliver_all(runtime, settings)
    delivered = scrape(base)
    assert value(delivered, "conductor_outbox_pending_messages") == 0
    assert value(delivered, "conductor_outbox_oldest_pending_age_seconds") == 0

    # The starter answers in the run's thread: the step ends, and with it the run.
    channel, thread_ts = wait_for(lambda: first_row(runtime, "select channel, thread_ts from runs where thread_ts is not null"))
    reply = {"type": "event_callback", "event_id": "Ev1", "team_id": "T0FAKETEAM", "api_app_id": "A0APP",
             "event": {"type": "message", "channel": channel, "user": "U01ANN", "text": "My draft",
                       "ts": "1700000001.0", "thread_ts": thread_ts}}
    status, _, _ = event(url, reply)
    assert status == 200
    wait_for(lambda: scalar(runtime, f"select status from runs where id = '{run_id}'") == "completed")
    done = scrape(base)
    assert value(done, "conductor_runs", workflow="review", state="completed") == 1
    assert value(done, "conductor_runs", workflow="review", state="waiting") == 0
    assert value(done, "conductor_steps_waiting_on_people", workflow="review") == 0
    assert value(done, "conductor_outbox_pending_messages") == scalar(runtime, UNDELIVERED) >= 1
    assert value(done, ACK, status="200") == acks + 2


def test_every_acknowledgement_is_timed_refusals_included(served):
    url, base, _, _, _ = served
    before = scrape(base)
    for n in range(5):
        assert slash_command(url, "help", trigger=f"t{n}")[0] == 200
    assert slash_command(url, "help", signature="v0=" + "0" * 64)[0] == 401
    after = scrape(base)
    assert value(after, ACK, status="200") == value(before, ACK, status="200") + 5
    assert value(after, ACK, status="401") == value(before, ACK, status="401") + 1
    # Every request falls in the last bucket; the sum grows by the time they took.
    assert value(after, "conductor_slack_ack_seconds_bucket", status="200", le="+Inf") == value(after, ACK, status="200")
    took = "conductor_slack_ack_seconds_sum"
    assert value(after, took, status="200") > value(before, took, status="200")
    # Only Slack's own endpoint is timed: health checks and scrapes are not acknowledgements.
    assert value(scrape(base), ACK, status="200") == value(after, ACK, status="200")


def test_slack_rate_limits_are_counted_by_method(served):
    _, base, _, _, _ = served
    before = scrape(base)
    count_slack_ratelimited("chat.postMessage")
    count_slack_ratelimited("http://127.0.0.1:9/api/chat.postMessage")
    count_slack_ratelimited("conversations.open")
    count_slack_ratelimited('chat.postMessage"} 1\nconductor_fake 2')  # never a label that breaks the format
    after = scrape(base)
    counted = "conductor_slack_ratelimited_total"
    assert value(after, counted, method="chat.postMessage") == value(before, counted, method="chat.postMessage") + 2
    assert value(after, counted, method="conversations.open") == value(before, counted, method="conversations.open") + 1
    assert value(after, counted, method="other") == value(before, counted, method="other") + 1
    assert not any(name == "conductor_fake" for name, _ in after)


def test_a_database_that_cannot_be_read_still_answers(db_url, tmp_path):
    """Tables missing (not migrated): the scrape answers, says so, and keeps the process's figures."""
    from bot.observability.metrics import scrape as exposition
    from bot.store.db import make_engine

    engine = make_engine(db_url)
    try:
        body, content_type = exposition(engine)
    finally:
        engine.dispose()
    assert content_type.startswith("text/plain")
    textual = body.decode()
    assert "conductor_database_up 0.0" in textual
    assert "# HELP conductor_slack_ack_seconds" in textual
    assert "conductor_outbox_pending_messages" not in textual


def test_a_429_from_slack_is_counted_by_the_messenger(served):
    url, base, runtime, fake, settings = served
    counted = "conductor_slack_ratelimited_total"
    before = value(scrape(base), counted, method="chat.postMessage")
    assert slash_command(url, "start review")[0] == 200
    wait_for(lambda: scalar(runtime, "select count(*) from outbox") > 0)
    fake.fail_next("chat.postMessage", times=2, status=429)
    messenger = Messenger(runtime.engine, make_client(settings), runtime.versions, render=render_outbox)
    messenger.deliver_due()  # the first post is refused: 429
    assert value(scrape(base), counted, method="chat.postMessage") == before + 1
