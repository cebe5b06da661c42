"""Someone outside every role tries every action, through the app: each is refused, the
person is told why privately (an ephemeral, a DM from the App Home, or the form's error), and
the refusal is in the audit log with who tried what."""

from __future__ import annotations

import json

from bot.engine import events as ev
from bot.slack.blocks import actions as a
from tests.hostile.conftest import OUTSIDER, STARTER, Live
from tests.hostile.payloads import click, text_value, view_submission


def refusals(live: Live) -> int:
    return live.scalar("select count(*) from audit_events where type = 'refused' and actor = :u", u=OUTSIDER)


def test_an_outsider_is_refused_everything_told_why_and_audited(live: Live):
    task = live.start("hostile")
    approval = live.start("approval")
    live.runtime.service.handle(approval, ev.Answer("draft", STARTER, {"text": "v1"}))
    failing = live.start("escalating")
    live.runtime.service.handle(failing, ev.AutomationFailed("fragile", 1, 1, "the service said no", retryable=False))
    assert live.state(failing).steps["fragile"].status.value == "escalated"
    states = {run: live.state(run) for run in (task, approval, failing)}
    before = live.counts()

    told: list[str] = []  # how each refusal reached the person: "said" or "form"
    commands = [
        "start hostile title=mine", "start approval", f"cancel {task}", f"cancel {failing} because",
        "reload", "standup pause hostile-standup", "standup skip hostile-standup", "standup resume",
    ]
    for text_ in commands:
        assert live.command(text_, user=OUTSIDER)[0] == 200
        told.append("said")
    clicks = [
        click(OUTSIDER, a.APPROVE, approval, "approve", n=1),
        click(OUTSIDER, a.RETRY, failing, "fragile", n=2),
        click(OUTSIDER, a.SKIP, failing, "fragile", n=3),
        click(OUTSIDER, a.ABORT, failing, "fragile", n=4),
        {**click(OUTSIDER, a.APPROVE, approval, "approve", n=5), "channel": None},  # from the App Home: a DM
        click(OUTSIDER, a.DECIDE, approval, "approve", n=6, choice="yes"),
    ]
    for payload in clicks:
        assert live.interactive(payload)[0] == 200
        told.append("said")
    forms = [
        (a.STEP_FORM, task, "note", {"note": text_value("someone else's note")}),
        (a.APPROVE_FORM, approval, "approve", {}),
        (a.REJECT_FORM, approval, "approve", {"reason": text_value("no")}),
        (a.TAKE_OVER_FORM, failing, "fragile", {"result": text_value("done by hand")}),
        (a.REASSIGN_FORM, task, "note", {"assignee": {"value": {"type": "users_select", "selected_user": OUTSIDER}}}),
        (a.STEP_FORM, failing, "wrap_up", {"done": {"value": {"type": "checkboxes", "selected_options": []}}}),
    ]
    for n, (callback, run, step, values) in enumerate(forms):
        status, answer = live.interactive(view_submission(OUTSIDER, callback, {"run_id": run, "step_id": step}, values,
                                                          view_id=f"V{n}"))
        assert status == 200
        if answer.strip():
            errors = json.loads(answer)["errors"]
            assert errors and all(why for why in errors.values())
            told.append("form")
        else:
            told.append("said")
    live.idle()

    attempts = len(commands) + len(clicks) + len(forms)
    said = live.said_to(OUTSIDER)
    assert len(said) == told.count("said"), said
    assert all(("Not " in t or "Only " in t or "Could not" in t) for t in said), said
    assert any(c.method == "chat.postMessage" and c.params.get("channel") == OUTSIDER for c in live.fake.calls)
    assert refusals(live) == attempts
    kinds = set(_refused_kinds(live))
    assert {"Start", "Cancel", "Reload", "StandupPause", "StandupSkip", "Approve", "RetryNow", "Skip", "Abort",
            "Decide", "Answer", "Reject", "TakeOver", "Reassign"} <= kinds, kinds
    # Nothing else happened: the runs are as they were, no message went to their threads.
    assert {run: live.state(run) for run in states} == states
    after = live.counts()
    assert after["runs"] == before["runs"] and after["outbox"] == before["outbox"]
    assert live.logs.errors() == []
    print(f"refusals: {attempts} attempts by an outsider, {refusals(live)} audited, "
          f"{told.count('said')} told privately, {told.count('form')} shown in the form")


def _refused_kinds(live: Live) -> list[str]:
    from sqlalchemy import text

    with live.runtime.engine.connect() as conn:
        rows = conn.execute(text("select payload from audit_events where type = 'refused' and actor = :u"),
                            {"u": OUTSIDER}).scalars().all()
    return [(p if isinstance(p, dict) else json.loads(p))["event"]["type"] for p in rows]


def test_the_people_asked_are_not_refused(live: Live):
    """The control: the same actions by the people the workflow names are taken."""
    approval = live.start("approval")
    live.runtime.service.handle(approval, ev.Answer("draft", STARTER, {"text": "v1"}))
    assert live.interactive(click("U03CAT", a.APPROVE, approval, "approve", n=9))[0] == 200
    live.idle()
    assert live.state(approval).status.value == "completed"
    assert live.command("standup pause hostile-standup", user="U04LEAD")[0] == 200
    live.idle()
    assert "is paused" in live.said_to("U04LEAD")[-1]
    assert live.scalar("select count(*) from audit_events where type = 'refused'") == 0
