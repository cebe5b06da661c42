"""Each example workflow, from `/conductor start` to completion, with every person's part done
through the app over signed HTTP: buttons, generated forms, decisions, stand-up answers.
(Automations are answered directly; the runners and the clock are tested on their own.)"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.engine import events as ev
from bot.engine.permissions import StaticDirectory, users_of
from bot.slack.blocks import actions as a
from bot.slack.blocks import forms
from tests.fakeslack import FakeSlack
from tests.harness import GROUPS
from tests.slack.live import clock_from, running_app, slack_settings
from tests.slack.signed import slash_command
from tests.slack.test_app_interactions import click, submit
from tests.slack.test_blocks import fake_state_from

AUTOMATED = {
    "seo": {"slug": "a-title", "meta_description": "m", "keywords": ["k"]},
    "format_check": {"reading_minutes": 3, "headline": "A title"},
    "publish": {"article_url": "https://blog.example.com/a"},
    "provision": {"account_id": "acct_0123456789ab", "seats": 5, "plan": "starter"},
    "enterprise_provision": {"account_id": "acct-big", "seats": 900, "plan": "enterprise"},
    "schedule": {"schedule": "email 2026-03-09T08:00", "posts": 1},
}
STARTS = {
    "blog-article": ("U01EDITOR", 'title="A title" writer=<@U02WRITER|writer>'),
    "client-onboarding": ("U06SALES", "company=Big plan=enterprise seats=900 contact=it@big.com"),
    "campaign-launch": ("U07MKTLEAD", "campaign=Spring budget=1000"),
    "daily-standup": ("U10LEAD", ""),
}


def example_value(spec):
    """A value a person could type for a field, within its rules."""
    match spec.type:
        case "integer" | "number":
            return int(spec.min) + 1 if spec.min is not None else 5
        case "boolean":
            return True
        case "date":
            return "2026-03-04"
        case "datetime":
            return "2026-03-04T10:00:00+00:00"
        case "enum":
            return spec.options[0]
        case "user":
            return "U05MANAGER"
        case "channel":
            return "C0NEWS"
        case "url":
            return "https://docs.example.com/d"
        case "list":
            return [spec.options[0]] if spec.items == "enum" else ["one"]
    return "Done, see notes."


# The engine's clock for these runs, so the day the suite runs on does not matter (the stand-up
# skips weekends and US holidays): an ordinary Wednesday before its 05:00 UTC scheduled start,
# when every time zone's today is a working day (a Tuesday or that Wednesday, neither a holiday).
START = datetime(2026, 3, 4, 4, 0, tzinfo=UTC)


@pytest.fixture
def app(migrated_db_url):
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, Path("workflows"), fake)
        directory = StaticDirectory(GROUPS)
        with running_app(settings, directory, clock=clock_from(START)) as (url, runtime):
            yield url, fake, runtime, directory


def state_of(runtime, run_id):
    from bot.engine.state import RunState
    from bot.store.models import Run

    with runtime.sessions() as session:
        return RunState.from_json(session.get_one(Run, run_id).state)


@pytest.mark.parametrize("workflow_id", list(STARTS))
def test_example_runs_to_completion_through_slack(app, workflow_id):
    url, fake, runtime, directory = app
    starter, text = STARTS[workflow_id]
    slash_command(url, f"start {workflow_id} {text}", user=starter)
    deadline = time.monotonic() + 5
    while not (runs := _runs(runtime)):
        assert time.monotonic() < deadline, [c.params.get("text") for c in fake.calls_to("chat.postEphemeral")]
        time.sleep(0.02)
    run_id = runs[0]
    workflow = runtime.versions.current(workflow_id).workflow
    n = 0
    for _ in range(40):
        state = state_of(runtime, run_id)
        if state.final:
            break
        for key, timer in state.timers.items():  # time passes: a scheduled start comes due
            if timer.kind == "scheduled_start":
                runtime.service.fire_timer(run_id, key)
        for dispatch in runtime.service.claim_dispatches(runtime.service.clock()):
            r = dispatch.request
            runtime.service.handle(run_id, ev.AutomationSucceeded(r.step_id, r.attempt, r.try_number, AUTOMATED[r.step_id]))
        for step_id, st in state.steps.items():
            if st.status.value != "waiting_on_person":
                continue
            step = workflow.step(step_id)
            people = [u for u in users_of(st.assignees, directory) if u not in st.answers and u not in st.approvals]
            user = people[0]
            n += 1
            views_before = len(fake.calls_to("views.open"))
            if step.kind == "approval":
                click(url, a.APPROVE, run_id, step_id, user, n=n)
            elif step.kind == "gate":
                options = [r.label or r.goto for r in step.routes]
                click(url, a.DECIDE, run_id, step_id, user, n=n, choice=options[0])
            else:
                is_standup = step.kind == "standup"
                click(url, a.STANDUP_ANSWER if is_standup else a.SUBMIT, run_id, step_id, user, n=n)
                fields = forms.standup_fields(step.questions) if is_standup else step.outputs
                if fields:
                    while len(fake.calls_to("views.open")) == views_before:
                        time.sleep(0.02)
                    shown = fake.calls_to("views.open")[-1].params["view"]
                    filled = forms.standup_form(step.questions, run_id=run_id, step_id=step_id,
                                                initial={k: example_value(s) for k, s in fields.items()}) if is_standup else \
                        forms.step_form(run_id, step_id, step.title, fields,
                                        initial={k: example_value(s) for k, s in fields.items()})
                    status, body, _ = submit(url, shown["callback_id"], json.loads(shown["private_metadata"]),
                                             fake_state_from(filled), user, view_id=f"V{n}")
                    assert not body.strip(), body
            _settle(runtime, run_id, step_id, st.attempt)
            break
    assert state_of(runtime, run_id).status.value == "completed", {k: v.status.value for k, v in state_of(runtime, run_id).steps.items()}


def _runs(runtime):
    from sqlalchemy import text

    with runtime.engine.connect() as conn:
        return [r for (r,) in conn.execute(text("select id from runs"))]


def _settle(runtime, run_id, step_id, attempt, timeout=5.0):
    """Wait until the lazy listener has applied the click (the step moved on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = state_of(runtime, run_id).steps[step_id]
        if st.status.value != "waiting_on_person" or st.attempt != attempt or st.answers or st.approvals:
            return
        time.sleep(0.02)
    raise AssertionError(f"{step_id} did not move")


def test_stand_up_answered_by_plain_dm_replies(app):
    url, fake, runtime, directory = app
    slash_command(url, "start daily-standup", user="U10LEAD")
    deadline = time.monotonic() + 5
    while not (runs := _runs(runtime)):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    run_id = runs[0]
    # Open the window now, as the clock would at 09:00 on the person's own clock.
    for key, timer in state_of(runtime, run_id).timers.items():
        if timer.kind == "standup_open":
            runtime.service.fire_timer(run_id, key)
    from tests.slack.signed import event

    for n, text in enumerate(["Tests", "Docs", "none"], start=1):
        event(url, {"type": "event_callback", "event_id": f"EvDM{n}", "event": {
            "type": "message", "channel_type": "im", "channel": "D0ANA", "user": "U20ANA", "text": text, "ts": f"{n}.0"}})
        deadline = time.monotonic() + 5
        while len(state_of(runtime, run_id).steps["standup"].drafts.get("U20ANA", {})) < n and \
                "U20ANA" not in state_of(runtime, run_id).steps["standup"].answers:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    assert state_of(runtime, run_id).steps["standup"].answers["U20ANA"] == {"yesterday": "Tests", "today": "Docs", "blockers": "none"}
