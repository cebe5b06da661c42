"""Reads follow permissions: through the real app over signed HTTP, a bystander's
`/conductor runs`, `board` and `status` show a count and no run; the starter, a person the
run asks, its conductor and an admin see it; an escalation's error reaches only those who
may act on it."""

from __future__ import annotations

import itertools

from sqlalchemy import text

from bot.engine.state import RunState, StepStatus
from bot.store.models import Run
from tests.fakeslack import FakeSlack
from tests.polling import wait_for
from tests.slack.live import running_app, slack_settings
from tests.slack.signed import slash_command

WORKFLOW = """
id: contract
channel: "#legal"
roles: {sales: [U01ANN, U02BOB], legal: [U03CAT], lead: [U04LEAD]}
conductor: lead
permissions: {start: [sales], cancel: [lead], take_over: [lead], skip: [lead], retry: [lead], reassign: [lead]}
steps:
  - id: terms
    ask: legal
    prompt: "Terms for {{ inputs.client }}"
    outputs: {text: text}
inputs:
  client: {type: text}
"""
TRIGGERS = itertools.count(1)


def ask(url: str, fake: FakeSlack, user: str, command: str) -> str:
    """Type `command` as `user`; the private answer they get."""
    trigger = f"trig-read-{next(TRIGGERS)}"
    before = len(fake.calls_to("chat.postEphemeral"))
    slash_command(url, command, user=user, trigger=trigger)
    notes = wait_for(lambda: [c.params for c in fake.calls_to("chat.postEphemeral")[before:]
                              if c.params.get("user") == user], 5)
    return notes[0]["text"]


def first_run(runtime) -> str | None:
    with runtime.engine.connect() as conn:
        return conn.execute(text("select id from runs")).scalar()


def test_a_bystander_sees_a_count_and_no_run(migrated_db_url, tmp_path):
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, {"contract.yaml": WORKFLOW},
                                  admins="U09ADMIN")
        with running_app(settings) as (url, runtime):
            ask(url, fake, "U01ANN", "start contract client=Acme")
            run_id = wait_for(lambda: first_run(runtime), 5)

            for bystander in ("U02BOB", "U08EVE"):  # Bob may start runs, not see Ann's; Eve is nobody
                runs = ask(url, fake, bystander, "runs")
                assert run_id not in runs and "Acme" not in runs
                assert "1 other active run you take no part in" in runs
                board = ask(url, fake, bystander, "board")
                assert run_id not in board and "1 other active run" in board
                status = ask(url, fake, bystander, f"status {run_id}")
                assert "There is no run" in status and "terms" not in status

            with runtime.engine.connect() as conn:  # each look at a run they may not see is audited
                refused = conn.execute(text("select count(*) from audit_events where type = 'refused' "
                                            "and actor in ('U02BOB', 'U08EVE')")).scalar()
            assert refused == 2

            for insider in ("U01ANN", "U03CAT", "U04LEAD", "U09ADMIN"):  # starter, asked, conductor, admin
                assert run_id in ask(url, fake, insider, "runs"), insider
                assert "• terms: waiting on person" in ask(url, fake, insider, f"status {run_id}"), insider


def test_an_escalation_error_reaches_only_those_who_may_act(migrated_db_url, tmp_path):
    workflow = WORKFLOW.replace("""  - id: terms
    ask: legal""", """  - id: fetch
    run: ["false"]
  - id: terms
    ask: legal""")
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, {"contract.yaml": workflow})
        with running_app(settings) as (url, runtime):
            doors = runtime.usecases
            started = doors.start("contract", "U01ANN", {"client": "Acme"}, key="k1")
            with runtime.sessions() as session:  # as if the automation had failed for good: escalated
                run = session.get_one(Run, started.run_id)
                state = RunState.from_json(run.state)
                state.steps["fetch"].status = StepStatus.ESCALATED
                state.steps["fetch"].error = "exit status 1: a detail for the people who fix it"
                run.state = state.to_json()
                session.commit()
            lead = doors.home("U04LEAD")  # the conductor may take over
            assert [item.error for item in lead.attention] == ["exit status 1: a detail for the people who fix it"]
            starter = doors.home("U01ANN")  # sales may start, not take over: the error is not theirs
            assert starter.attention == []
            assert started.run_id in [r.run_id for runs in starter.board.values() for rs in runs.values() for r in rs]
