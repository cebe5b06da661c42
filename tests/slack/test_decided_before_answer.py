"""Whatever a request changes is in the database before Slack has its HTTP 200.

Slack never sends a request again once it was answered 200, so a process killed between its
answer and its work would lose what the person did. Here the app's lazy work (Bolt's
listener pool) is held back, as if the process died right after answering: every command,
click and reply that changes something must already show in the database; only the private
notes and the forms that open wait for the lazy work, which is then let run."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from bot.engine.state import RunState
from bot.runtime import Runtime, build_runtime
from bot.slack.acks import SORRY
from bot.slack.app import build_app
from bot.slack.blocks import actions as a
from bot.slack.client import make_client
from bot.slack.web import wsgi_app
from tests.fakeslack import FakeSlack
from tests.slack.live import serve_wsgi, slack_settings
from tests.slack.signed import event, slash_command
from tests.slack.test_app_interactions import click, submit
from tests.slack.test_blocks import fake_state_from

REVIEW = """
id: review
channel: "#work"
roles: {team: [U01ANN, U02BOB], approvers: [U03CAT]}
permissions: {start: [team]}
steps:
  - {id: write, ask: starter, outputs: {text: text}}
  - {id: check, ask: starter}
  - {id: size, ask: starter, outputs: {words: integer}}
  - {id: approve, approvers: [approvers]}
"""
HUDDLE = """
id: huddle
channel: "#huddle"
roles: {team: [U20ANA], lead: [U10LEAD]}
permissions: {start: [lead]}
steps:
  - id: standup
    participants: [team]
    questions: [{id: done, text: What did you finish?}, {id: next, text: What is next?}]
    window: {opens: "00:00", closes: "23:59", timezone: UTC}
    working_days: [mon, tue, wed, thu, fri, sat, sun]
"""
THREAD = "1700000000.000100"


class DiesAfterAnswering(Executor):
    """Bolt's listener pool in a process that dies right after each answer: the lazy work it
    is given is held, never run, until `resume` (a process that did not die after all)."""

    def __init__(self) -> None:
        self.held: list[Callable[[], Any]] = []

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[override]
        self.held.append(functools.partial(fn, *args, **kwargs))
        return Future()

    def resume(self) -> int:
        held, self.held = self.held, []
        for work in held:
            work()
        return len(held)


@dataclass
class Bot:
    url: str
    fake: FakeSlack
    runtime: Runtime
    lazy: DiesAfterAnswering

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.runtime.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def state(self, run_id: str) -> RunState:
        raw = self.scalar("select state from runs where id = :r", r=run_id)
        return RunState.from_json(raw if isinstance(raw, dict) else json.loads(raw))

    def step(self, run_id: str, step_id: str) -> str:
        return self.state(run_id).steps[step_id].status.value

    def told(self) -> list[str]:
        """Private notes sent so far: ephemerals and DMs."""
        return [c.params["text"] for c in self.fake.calls if c.method == "chat.postEphemeral"
                or (c.method == "chat.postMessage" and c.params["channel"].startswith("U"))]

    def start(self, workflow_id: str, user: str, trigger: str) -> str:
        """`/conductor start` answered 200: the run exists at once, its thread as the messenger sets it."""
        before = self.scalar("select count(*) from runs")
        status, body, _ = slash_command(self.url, f"start {workflow_id}", user=user, trigger=trigger)
        assert (status, body.strip()) == (200, b"")
        assert self.scalar("select count(*) from runs") == before + 1
        run_id = self.scalar("select id from runs order by created_at desc, id limit 1")
        with self.runtime.engine.begin() as conn:
            conn.execute(text("update runs set channel = 'C0WORK', thread_ts = :t where id = :r"),
                         {"t": THREAD + run_id, "r": run_id})
        return run_id


@pytest.fixture
def bot(migrated_db_url, tmp_path) -> Iterator[Bot]:
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, {"review.yaml": REVIEW, "huddle.yaml": HUDDLE})
        runtime = build_runtime(settings)
        lazy = DiesAfterAnswering()
        try:
            with serve_wsgi(wsgi_app(build_app(runtime, make_client(settings), listener_executor=lazy))) as url:
                yield Bot(url, fake, runtime, lazy)
        finally:
            runtime.close()


def reply(bot: Bot, run_id: str, user: str, text: str, n: int) -> int:
    status, body, _ = event(bot.url, {
        "type": "event_callback", "event_id": f"EvDecided{n}", "team_id": "T0FAKETEAM", "api_app_id": "A0APP",
        "event": {"type": "message", "channel": "C0WORK", "user": user, "text": text, "ts": f"1700000100.{n:06d}",
                  "thread_ts": THREAD + run_id, "channel_type": "channel"}})
    assert not body.strip()
    return status


def test_every_change_is_decided_before_the_answer(bot):
    run = bot.start("review", "U01ANN", trigger="t-start")
    assert bot.told() == [] and bot.lazy.resume() == 1
    assert bot.told() == [f"Started `review` as run `{run}`."]

    # A thread reply completes `write`; a Submit without outputs completes `check`.
    assert reply(bot, run, "U01ANN", "My draft", 1) == 200
    assert bot.step(run, "write") == "completed"
    assert click(bot.url, a.SUBMIT, run, "check", "U01ANN", n=1)[0] == 200
    assert bot.step(run, "check") == "completed"

    # Submit on `size` only opens a form: nothing changes, and the form waits for the lazy work.
    assert click(bot.url, a.SUBMIT, run, "size", "U01ANN", n=2)[0] == 200
    assert bot.step(run, "size") == "waiting_on_person" and bot.fake.calls_to("views.open") == []
    assert bot.lazy.resume() == 3
    (opened,) = bot.fake.calls_to("views.open")
    view = opened.params["view"]
    assert opened.params["trigger_id"] == "trig2" and view["callback_id"] == a.STEP_FORM
    status, body, _ = submit(bot.url, a.STEP_FORM, json.loads(view["private_metadata"]),
                             fake_state_from(view, {"words": "300"}), "U01ANN")
    assert (status, body.strip()) == (200, b"") and bot.step(run, "size") == "completed"

    # A refusal changes nothing and is explained afterwards; the approver's click is decided at once.
    assert click(bot.url, a.APPROVE, run, "approve", "U02BOB", n=3)[0] == 200
    assert bot.step(run, "approve") == "waiting_on_person" and bot.told()[1:] == []
    assert click(bot.url, a.APPROVE, run, "approve", "U03CAT", n=4)[0] == 200
    assert bot.scalar("select status from runs where id = :r", r=run) == "completed"
    assert bot.lazy.resume() == 2
    (refusal,) = bot.told()[1:]
    assert refusal.startswith("Not done:")

    # `/conductor cancel` is applied before its answer too.
    other = bot.start("review", "U02BOB", trigger="t-other")
    status, body, _ = slash_command(bot.url, f"cancel {other} not needed", user="U02BOB", trigger="t-cancel")
    assert (status, body.strip()) == (200, b"")
    assert bot.scalar("select status from runs where id = :r", r=other) == "cancelled"
    bot.lazy.resume()
    assert bot.told()[-1] == f"Run `{other}` cancelled."
    assert bot.scalar("select count(*) from audit_events where type = 'step_completed'") == 4


def test_the_same_start_again_is_already_handled(bot):
    run = bot.start("review", "U01ANN", trigger="t-same")
    status, _, _ = slash_command(bot.url, "start review", user="U01ANN", trigger="t-same",
                                 headers={"X-Slack-Retry-Num": "1"})
    assert status == 200 and bot.scalar("select count(*) from runs") == 1
    assert bot.lazy.resume() == 2
    started, again = bot.told()
    assert started == f"Started `review` as run `{run}`."
    assert again.startswith("Already handled:") and "Could not start" not in again


def test_a_stand_up_dm_reply_is_decided_before_the_answer(bot):
    run = bot.start("huddle", "U10LEAD", trigger="t-huddle")
    for key, timer in bot.state(run).timers.items():  # the window opens, as the clock would open it
        if timer.kind == "standup_open":
            bot.runtime.service.fire_timer(run, key)
    status, _, _ = event(bot.url, {
        "type": "event_callback", "event_id": "EvDecidedDM", "team_id": "T0FAKETEAM", "api_app_id": "A0APP",
        "event": {"type": "message", "channel_type": "im", "channel": "DU20ANA", "user": "U20ANA",
                  "text": "Tests", "ts": "1700000200.0"}})
    assert status == 200
    st = bot.state(run).steps["standup"]
    assert {**st.drafts.get("U20ANA", {}), **st.answers.get("U20ANA", {})} == {"done": "Tests"}


def test_an_engine_failure_is_answered_200_with_an_apology(bot, caplog):
    run = bot.start("review", "U01ANN", trigger="t-start")
    bot.lazy.resume()
    with bot.runtime.engine.begin() as conn:  # the engine cannot record any request now
        conn.execute(text("drop table inbound_events"))
    with caplog.at_level(logging.ERROR, logger="conductor.slack"):
        assert click(bot.url, a.SUBMIT, run, "check", "U01ANN", n=1)[0] == 200
        assert reply(bot, run, "U01ANN", "My draft", 1) == 200
        status, body, _ = slash_command(bot.url, f"cancel {run}", user="U01ANN", trigger="t-cancel")
        assert (status, body.strip()) == (200, b"")
    assert bot.step(run, "write") == "waiting_on_person"
    assert bot.lazy.resume() == 3
    assert bot.told()[1:] == [SORRY] * 3
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == [f"button {a.SUBMIT} failed", "a reply failed", "/conductor failed"]
    assert all(r.exc_info for r in failures)  # the log has the traceback; the person never sees it
