"""Slack delivering the same request four times: retries (`X-Slack-Retry-Num` 1..3 with
`X-Slack-Retry-Reason`, the same payload) one after another, and re-sends that arrive while
the first is still being answered (all four at once). Each kind of request has exactly one
effect: one transition, one set of outbox rows, one set of audit rows.

Three runs move in step: A gets each request once, B four times in a row, C four times at
once; B's and C's effects must equal A's, and A's must be one transition.

Slash commands: Slack does not retry them; a request with the same `trigger_id` seen again
(a proxy's retry) starts nothing. Pressing enter twice sends two commands with two
`trigger_id`s: both are honoured (two runs, each answered with its own run id), since a
second start cannot be told from a deliberate one; `/conductor cancel` undoes a slip.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from bot.slack.blocks import actions as a
from bot.slack.blocks import forms
from tests.resilience.scenes import at_once, click_payload, command, interactive
from tests.resilience.stage import Stage, stage
from tests.slack.signed import event, slash_command
from tests.slack.test_blocks import fake_state_from

REVIEW = """
id: review
channel: "#work"
roles: {team: [U01ANN], approvers: [U03CAT]}
permissions: {start: [team]}
steps:
  - {id: draft, ask: starter, outputs: {text: text}}
  - {id: size, ask: starter, outputs: {words: integer}}
  - {id: check, ask: starter}
  - {id: approve, approvers: [approvers]}
"""
HUDDLE = """
id: huddle
channel: "#huddle"
roles: {team: [U20ANA, U21BEN, U22CAL], lead: [U10LEAD]}
permissions: {start: [lead]}
steps:
  - id: standup
    participants: [team]
    questions: [{id: done, text: What did you finish?}, {id: next, text: What is next?}]
    window: {opens: "00:00", closes: "23:59", timezone: UTC}
    working_days: [mon, tue, wed, thu, fri, sat, sun]
"""
Send = Callable[[dict[str, str] | None], int]
TALLY: Counter[str] = Counter()


def retry_headers(n: int) -> dict[str, str] | None:
    return {"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"} if n else None


def four_in_a_row(send: Send) -> None:
    assert [send(retry_headers(n)) for n in range(4)] == [200] * 4
    TALLY["deliveries"] += 4
    TALLY["retries"] += 3


def four_at_once(send: Send) -> None:
    assert at_once([lambda n=n: send(retry_headers(n)) for n in range(4)]) == [200] * 4
    TALLY["deliveries"] += 4
    TALLY["retries"] += 3
    TALLY["concurrent"] += 4


def once(send: Send) -> None:
    assert send(None) == 200
    TALLY["deliveries"] += 1


@pytest.fixture
def on(migrated_db_url, tmp_path):
    with stage(migrated_db_url, tmp_path, {"review": REVIEW, "huddle": HUDDLE}, fake={"rate": 50.0, "burst": 5},
               messenger={"rate": 50.0, "burst": 5}) as on:
        TALLY.clear()
        yield on


def effects(on: Stage, run_id: str, actor: str | None = None) -> tuple[int, int, Counter[str]]:
    """(transitions, outbox rows, audit rows by type) of a run, or of one person in it."""
    if actor is None:
        seq = on.state(run_id).seq
        outbox = on.scalar("select count(*) from outbox where run_id = :r", r=run_id)
        audits = on.rows("select type from audit_events where run_id = :r", r=run_id)
    else:
        st = on.state(run_id).steps["standup"]
        seq = len(st.drafts.get(actor, {})) + len(st.answers.get(actor, {}))
        outbox = on.scalar("select count(*) from outbox where run_id = :r and channel = :u", r=run_id, u=actor)
        audits = on.rows("select type from audit_events where run_id = :r and actor = :u", r=run_id, u=actor)
    return seq, outbox, Counter(t for (t,) in audits)


def in_step(on: Stage, subjects: list[tuple[str, str | None]], sends: list[Send]) -> None:
    """Deliver one request per subject (once, four in a row, four at once) and check that
    all had the same single effect."""
    before = [effects(on, run, actor) for run, actor in subjects]
    inbound = on.scalar("select count(*) from inbound_events")
    for deliver, send in zip((once, four_in_a_row, four_at_once), sends, strict=True):
        deliver(send)
    on.settle()
    after = [effects(on, run, actor) for run, actor in subjects]
    changes = [(b2[0] - b1[0], b2[1] - b1[1], b2[2] - b1[2]) for b1, b2 in zip(before, after, strict=True)]
    assert changes[0][0] == 1 and changes[0][2], changes  # A: one transition, audited
    assert changes[1] == changes[0] and changes[2] == changes[0], changes
    assert on.scalar("select count(*) from inbound_events") - inbound == len(subjects)
    TALLY["effects"] += len(subjects)


def test_each_request_redelivered_four_times_has_one_effect(on):
    for n in range(3):
        once(lambda h, n=n: command(on.url, "start review", "U01ANN", trigger=f"start{n}"))
    on.settle()
    runs = on.run_ids()
    assert len(runs) == 3
    subjects = [(run, None) for run in runs]
    threads = [on.thread_of(run) for run in runs]

    # A plain reply in the run's thread answers `draft` (a message event, keyed by event_id).
    def reply(i: int) -> Send:
        channel, ts = threads[i]
        body = {"type": "event_callback", "event_id": f"EvReply{i}", "team_id": "T0FAKETEAM", "api_app_id": "A0APP",
                "event": {"type": "message", "channel": channel, "user": "U01ANN", "text": "My draft",
                          "ts": f"1700001000.00{i}", "thread_ts": ts, "channel_type": "channel"}}
        return lambda headers: event(on.url, body, headers=headers)[0]

    in_step(on, subjects, [reply(i) for i in range(3)])

    # The `size` form submitted (a view submission, keyed by the view's id and hash).
    def submission(i: int) -> Send:
        view = forms.step_form(runs[i], "size", "Size", on.runtime.versions.current("review").workflow.step("size").outputs,
                               initial={"words": 300})
        payload = {"type": "view_submission", "user": {"id": "U01ANN"}, "team": {"id": "T0FAKETEAM"},
                   "api_app_id": "A0APP", "trigger_id": f"trigV{i}",
                   "view": {"id": f"V{i}", "hash": f"h{i}", "callback_id": view["callback_id"], "type": "modal",
                            "private_metadata": view["private_metadata"], "state": {"values": fake_state_from(view)}}}
        return lambda headers: interactive(on.url, payload, headers)

    in_step(on, subjects, [submission(i) for i in range(3)])

    # The answer button of `check`, then the approve button (block actions, keyed by action_ts).
    for step, action, user in (("check", a.SUBMIT, "U01ANN"), ("approve", a.APPROVE, "U03CAT")):
        payloads = [click_payload(action, run, step, user, 100 + i + (10 if step == "approve" else 0))
                    for i, run in enumerate(runs)]
        in_step(on, subjects, [lambda h, p=p: interactive(on.url, p, h) for p in payloads])
    assert [on.state(run).status.value for run in runs] == ["completed"] * 3
    on.drained()
    told = [c.params["text"] for c in on.fake.calls_to("chat.postEphemeral")]
    assert len(told) == 3 and all(t.startswith("Started") for t in told), told  # no "not done" for a redelivery
    print(f"[redelivered] {dict(TALLY)}")


def test_stand_up_dm_replies_redelivered_four_times_answer_once(on):
    assert command(on.url, "start huddle", "U10LEAD", trigger="huddle") == 200
    on.settle()
    (run,) = on.run_ids()
    for key, timer in on.state(run).timers.items():  # the window opens, as the clock would open it
        if timer.kind == "standup_open":
            on.runtime.service.fire_timer(run, key)
    people = ["U20ANA", "U21BEN", "U22CAL"]
    for n, text in enumerate(["Tests", "Docs"]):
        def dm(user: str, n: int = n, text: str = text) -> Send:
            body = {"type": "event_callback", "event_id": f"EvDM{user}{n}", "team_id": "T0FAKETEAM",
                    "api_app_id": "A0APP", "event": {"type": "message", "channel_type": "im", "channel": f"D{user}",
                                                     "user": user, "text": text, "ts": f"170000200{n}.0"}}
            return lambda headers: event(on.url, body, headers=headers)[0]

        in_step(on, [(run, user) for user in people], [dm(user) for user in people])
    answers = on.state(run).steps["standup"].answers
    assert [answers[user] for user in people] == [{"done": "Tests", "next": "Docs"}] * 3
    on.drained()
    print(f"[redelivered dm] {dict(TALLY)}")


def test_the_same_command_twice_starts_once_and_two_presses_start_twice(on):
    # Seen again with the same trigger_id (Slack does not retry commands; a proxy might).
    four_in_a_row(lambda h: slash_command(on.url, "start review", trigger="same1", headers=h)[0])
    four_at_once(lambda h: slash_command(on.url, "start review", trigger="same2", headers=h)[0])
    on.settle()
    assert len(on.run_ids()) == 2
    # Enter pressed twice: two commands, two trigger_ids, two runs (see the module's note).
    for trigger in ("press1", "press2"):
        once(lambda h, trigger=trigger: slash_command(on.url, "start review", trigger=trigger, headers=h)[0])
    on.settle()
    assert len(on.run_ids()) == 4
    started = [c.params["text"] for c in on.fake.calls_to("chat.postEphemeral") if c.params["text"].startswith("Started")]
    assert len(started) == 4 and len(set(started)) == 4  # each run's id told once
    print(f"[commands] {dict(TALLY)}")
