"""`/conductor insights [workflow]` through the real app over signed HTTP, against the local
Slack: the workflow's conductor and an admin get the advisories and figures privately, in
Block Kit within Slack's limits; a bystander is refused privately, and the refusal is audited."""

from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import text

from tests.fakeslack import FakeSlack
from tests.observability.test_metrics_endpoint import deliver_all
from tests.polling import wait_for
from tests.slack.live import running_app, slack_settings
from tests.slack.signed import event, slash_command

WORKFLOW = """
id: review
name: Review
channel: "#work"
phases: [Write, Check]
roles: {team: [U01ANN, U02BOB], lead: [U04LEAD]}
conductor: lead
permissions: {start: [team]}
steps:
  - {id: write, ask: starter, outputs: {text: text}, phase: Write}
  - id: route
    phase: Check
    routes:
      - {if: 'steps.write.outputs.text == "never"', goto: end}
    default: end
"""
CONDUCTOR, ADMIN, MEMBER, BYSTANDER = "U04LEAD", "U09ADMIN", "U01ANN", "U08EVE"
TRIGGERS = itertools.count(1)
EVENTS = itertools.count(1)


def scalar(runtime, sql: str):
    with runtime.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def first_row(runtime, sql: str):
    with runtime.engine.connect() as conn:
        return conn.execute(text(sql)).first()


def finish_runs(url, runtime, settings, count: int = 2) -> list[str]:
    """`count` runs started by a member and answered in their threads, over signed HTTP."""
    done: list[str] = []
    for n in range(count):
        assert slash_command(url, "start review", user=MEMBER, trigger=f"t-ins-run-{next(TRIGGERS)}")[0] == 200
        run_id = wait_for(lambda: scalar(runtime, "select id from runs where status = 'waiting'"))
        deliver_all(runtime, settings)
        channel, thread_ts = wait_for(lambda r=run_id: first_row(
            runtime, f"select channel, thread_ts from runs where id = '{r}' and thread_ts is not null"))
        reply = {"type": "event_callback", "event_id": f"Ev-ins-{next(EVENTS)}", "team_id": "T0FAKETEAM",
                 "api_app_id": "A0APP", "event": {"type": "message", "channel": channel, "user": MEMBER,
                                                  "text": f"draft {n}", "ts": f"1700000{n:03d}.0", "thread_ts": thread_ts}}
        assert event(url, reply)[0] == 200
        wait_for(lambda r=run_id: scalar(runtime, f"select status from runs where id = '{r}'") == "completed")
        done.append(run_id)
    return done


def ask(url: str, fake: FakeSlack, user: str, command: str) -> dict:
    """Type `command` as `user`; the private answer (chat.postEphemeral's params) they get."""
    before = len(fake.calls_to("chat.postEphemeral"))
    assert slash_command(url, command, user=user, trigger=f"t-ins-{next(TRIGGERS)}")[0] == 200
    notes = wait_for(lambda: [c.params for c in fake.calls_to("chat.postEphemeral")[before:]
                              if c.params.get("user") == user], 5)
    return notes[0]


def blocks_of(note: dict) -> list[dict]:
    blocks = note.get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else (blocks or [])


def within_limits(blocks: list[dict]) -> None:
    assert 0 < len(blocks) <= 50
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150


def shown(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


@pytest.fixture
def live(migrated_db_url, tmp_path):
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, {"review.yaml": WORKFLOW}, admins=ADMIN)
        with running_app(settings) as (url, runtime):
            runs = finish_runs(url, runtime, settings)
            yield url, fake, runtime, runs


def refusals_of(runtime, user: str) -> list[dict]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(text("select payload from audit_events where type = 'refused' and actor = :u"),
                            {"u": user}).all()
    return [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in rows]


def test_the_conductor_sees_advisories_and_figures_privately(live):
    url, fake, _, runs = live
    note = ask(url, fake, CONDUCTOR, "insights review")
    blocks = blocks_of(note)
    within_limits(blocks)
    said = shown(blocks)
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"] == "Insights"
    assert "Advisories" in said
    assert "wait longest" in said and "not enough runs yet" in said  # the bottleneck, two runs of twenty
    assert "2 runs in the period" in said and "write" in said and "(task)" in said and "(gate)" in said
    assert "Mean wait a run, by phase" in said and "*Write*" in said
    assert note["text"].startswith("Insights")  # the notification's fallback
    assert note["channel"] == "C0TEST"  # an ephemeral, where the command was typed


def test_the_conductor_without_a_workflow_gets_the_workflows_they_conduct(live):
    url, fake, _, _ = live
    said = shown(blocks_of(ask(url, fake, CONDUCTOR, "insights")))
    assert "`review`" in said and "blocker-handoff" not in said


def test_an_admin_sees_any_workflow(live):
    url, fake, _, _ = live
    for command in ("insights review", "insights"):
        blocks = blocks_of(ask(url, fake, ADMIN, command))
        within_limits(blocks)
        assert "wait longest" in shown(blocks), command


def test_a_bystander_and_a_member_are_refused_and_audited(live):
    url, fake, runtime, runs = live
    for user in (BYSTANDER, MEMBER):  # a member who starts and answers runs does not conduct them
        note = ask(url, fake, user, "insights review")
        assert not blocks_of(note)
        assert "Only the conductor of `review` and Conductor's admins" in note["text"]
        assert "wait longest" not in note["text"] and not any(r in note["text"] for r in runs)
        again = ask(url, fake, user, "insights")
        assert "you conduct no workflow" in again["text"] and not blocks_of(again)
        refused = refusals_of(runtime, user)
        assert len(refused) == 2, refused
        assert any(r["event"].get("workflow_id") == "review" for r in refused)
        assert all(r["event"]["type"] == "Insights" and "insights" in r["reason"] for r in refused)


def test_an_unknown_workflow_is_said_so(live):
    url, fake, _, _ = live
    note = ask(url, fake, CONDUCTOR, "insights nope")
    assert "There is no workflow `nope`" in note["text"] and not blocks_of(note)


def test_help_names_the_command(live):
    url, fake, _, _ = live
    assert "/conductor insights [workflow]" in ask(url, fake, BYSTANDER, "help")["text"]
