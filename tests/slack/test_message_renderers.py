"""Every message class has a renderer, rows of the previous release still render, and a row of a
kind this release does not know is marked failed by the messenger (logged, never sent vaguely)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import get_args

import pytest
from sqlalchemy import insert

from bot.engine import events as ev
from bot.engine.messages import MESSAGE_CLASSES, Message
from bot.slack.blocks.messages import KINDS, render
from bot.slack.blocks.outbox import render_outbox
from bot.slack.blocks.payloads import Payload
from bot.slack.messenger import OUTBOX
from tests.engine.test_messages import PREVIOUS_RELEASE, SAMPLES
from tests.slack.messenger_stage import drain, messenger_stage
from tests.slack.test_blocks import check_message, dump


def _payload(message: Message) -> dict:
    return {**message.to_payload(), "run_id": "run-1", "workflow_id": "wf"}


def test_every_message_class_has_a_renderer_and_a_kind():
    assert {type(m) for m in SAMPLES} == set(get_args(Message)) == set(MESSAGE_CLASSES)
    assert set(KINDS) == {cls.kind for cls in MESSAGE_CLASSES} | {"header"}
    for message in SAMPLES:  # `render` ends in assert_never: a class without a case fails here
        text, blocks = render(Payload.of(_payload(message), "Workflow", message), message)
        assert text.strip() and blocks


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: m.kind)
def test_each_message_renders_valid_blocks_mentioning_who_it_names(message: Message):
    shown = check_message(render_outbox(_payload(message)))
    for principal in message.to:
        assert f"{'<!subteam^' if principal.startswith('S') else '<@'}{principal}" in dump(shown)


@pytest.mark.parametrize(("payload", "expected"), PREVIOUS_RELEASE, ids=lambda v: v["kind"] if isinstance(v, dict) else "")
def test_rows_of_the_previous_release_still_render(payload, expected):
    shown = check_message(render_outbox({"run_id": "r", "workflow_id": "w", **payload}))
    assert shown == check_message(render_outbox({"run_id": "r", "workflow_id": "w", **expected.to_payload()}))


def test_a_reassigned_decision_and_a_summary_with_people_away_and_late_say_so():
    decision = next(m for m in SAMPLES if m.kind == "decision_request")
    assert "Reassigned by <@U03CAT>" in dump(render_outbox(_payload(decision)))
    summary = dump(render_outbox(_payload(next(m for m in SAMPLES if m.kind == "standup_summary"))))
    assert "Away today: <@U04DAN>" in summary and "window closed: <@U02BOB>" in summary


# --- the messenger ------------------------------------------------------------------------------
WORKFLOW = """
id: chat
channel: "#work"
roles: {team: [U01ANN, U02BOB]}
steps:
  - {id: one, ask: team, prompt: "First", outputs: {x: string}}
  - {id: two, ask: team, prompt: "Second", outputs: {x: string}}
"""


@pytest.fixture
def env(migrated_db_url, tmp_path):
    with messenger_stage(migrated_db_url, tmp_path / "wf", WORKFLOW, render_outbox) as h:
        yield h


def test_the_messenger_marks_a_row_of_an_unknown_kind_failed_and_goes_on(env, caplog):
    h = env
    run = h.service.start("chat", "U01ANN", {}, key="s").run_id
    drain(h)
    posts = len(h.fake.calls_to("chat.postMessage"))
    now = datetime.now(UTC)
    with h.engine.begin() as conn:
        conn.execute(insert(OUTBOX).values(
            run_id=run, channel="#work", thread_key=run, kind="post", dedupe_key="from-a-newer-release",
            payload={"kind": "hologram", "run_id": run, "workflow_id": "chat", "step_id": "one", "to": [],
                     "text": "<!channel>", "data": {}},
            next_attempt_at=now, created_at=now))
    assert h.service.handle(run, ev.Answer("one", "U02BOB", {"x": "done"}), key="a").accepted
    with caplog.at_level(logging.ERROR, logger="conductor.messenger"):
        drain(h)
    assert h.count("select count(*) from outbox where status = 'failed' and dedupe_key = 'from-a-newer-release' "
                   "and error like '%unknown message kind%hologram%'") == 1
    sent = [c.params.get("text", "") for c in h.fake.calls_to("chat.postMessage")[posts:]]
    assert sent  # the rows after it went out
    assert h.count("select count(*) from outbox where status = 'sent'") == h.count("select count(*) from outbox") - 1
    assert any("cannot be read" in r.getMessage() and "hologram" in r.getMessage() for r in caplog.records)
