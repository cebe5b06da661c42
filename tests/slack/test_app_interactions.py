"""Buttons, forms, thread replies and App Home through the real app over signed HTTP."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse

import pytest
from sqlalchemy import text

from bot.engine import events as ev
from bot.slack.blocks import actions as a
from tests.fakeslack import FakeSlack
from tests.polling import wait_for
from tests.slack.live import running_app, slack_settings
from tests.slack.signed import event, post, slash_command

WORKFLOW = """
id: review
channel: "#work"
roles: {team: [U01ANN, U02BOB], approvers: [U03CAT]}
permissions: {start: [team]}
steps:
  - id: write
    ask: starter
    outputs: {text: text}
  - id: check
    ask: starter
    outputs: {words: {type: integer, min: 10}}
  - id: approve
    approvers: [approvers]
    on_reject: write
"""


@pytest.fixture
def live(migrated_db_url, tmp_path):
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, {"review.yaml": WORKFLOW})
        with running_app(settings) as (url, runtime):
            slash_command(url, "start review")
            run_id = wait(lambda: scalar(runtime, "select id from runs"))
            with runtime.engine.begin() as conn:  # as the messenger would, once the header is posted
                conn.execute(text("update runs set channel = 'C0WORK', thread_ts = '1700000000.000100'"))
            yield url, fake, runtime, run_id


def scalar(runtime, sql: str):
    with runtime.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def wait(probe, timeout: float = 5.0):
    return wait_for(probe, timeout)


def step_status(runtime, run_id: str, step_id: str) -> str:
    from bot.engine.state import RunState
    from bot.store.models import Run

    with runtime.sessions() as session:
        return RunState.from_json(session.get_one(Run, run_id).state).steps[step_id].status.value


def interactive(url: str, payload: dict, **kw):
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    return post(url, body, "application/x-www-form-urlencoded", **kw)


def click(url: str, action_id: str, run_id: str, step_id: str, user: str, n: int = 1, **extra):
    return interactive(url, {
        "type": "block_actions", "user": {"id": user}, "team": {"id": "T0FAKETEAM"}, "trigger_id": f"trig{n}",
        "channel": {"id": "C0WORK"}, "container": {"type": "message"}, "api_app_id": "A0APP",
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "action_ts": f"170000000{n}.0",
                     "value": a.action_value(run_id, step_id, **extra)}],
    })


def submit(url: str, callback_id: str, meta: dict, values: dict, user: str, view_id: str = "V1", **kw):
    return interactive(url, {
        "type": "view_submission", "user": {"id": user}, "team": {"id": "T0FAKETEAM"}, "api_app_id": "A0APP",
        "trigger_id": "trig", "view": {"id": view_id, "hash": f"h-{view_id}", "callback_id": callback_id, "type": "modal",
                                       "private_metadata": json.dumps(meta), "state": {"values": values}},
    }, **kw)


def test_a_run_from_buttons_forms_and_a_thread_reply(live):
    url, fake, runtime, run = live
    # "write" has a single text output: a plain reply in the thread hands it off.
    reply = {"type": "event_callback", "event_id": "Ev1", "team_id": "T0FAKETEAM", "api_app_id": "A0APP",
             "event": {"type": "message", "channel": "C0WORK", "user": "U01ANN", "text": "My draft <!channel>",
                       "ts": "1700000001.0", "thread_ts": "1700000000.000100"}}
    for retry in range(3):  # Slack redelivers: X-Slack-Retry-Num
        status, _, _ = event(url, reply, headers={"X-Slack-Retry-Num": str(retry)} if retry else None)
        assert status == 200
    wait(lambda: step_status(runtime, run, "write") == "completed")
    assert scalar(runtime, "select count(*) from audit_events where type = 'step_completed' and step_id = 'write'") == 1

    # "check" needs a form: Submit opens it; a bad number is shown next to the field.
    click(url, a.SUBMIT, run, "check", "U01ANN")
    opened = wait(lambda: fake.calls_to("views.open"))
    view = opened[0].params["view"]
    assert view["callback_id"] == a.STEP_FORM and view["blocks"][-1]["block_id"] == "words"
    meta = json.loads(view["private_metadata"])
    status, body, _ = submit(url, a.STEP_FORM, meta, {"words": {"value": {"type": "number_input", "value": "3"}}}, "U01ANN")
    answer = json.loads(body)
    assert answer["response_action"] == "errors" and "words" in answer["errors"]
    status, body, _ = submit(url, a.STEP_FORM, meta, {"words": {"value": {"type": "number_input", "value": "300"}}},
                             "U01ANN", view_id="V2")
    assert status == 200 and not body.strip()
    assert step_status(runtime, run, "check") == "completed"

    # Someone who is not an approver is told privately; the approver approves.
    click(url, a.APPROVE, run, "approve", "U02BOB", n=2)
    note = wait(lambda: [c.params["text"] for c in fake.calls_to("chat.postEphemeral") if "Not done" in c.params["text"]])
    assert "not yours" in note[0]
    click(url, a.APPROVE, run, "approve", "U03CAT", n=3)
    wait(lambda: scalar(runtime, "select status from runs") == "completed")


def test_reject_form_loops_back_and_home_shows_the_work(live):
    url, fake, runtime, run = live
    event(url, {"type": "event_callback", "event_id": "Ev2", "event": {
        "type": "message", "channel": "C0WORK", "user": "U01ANN", "text": "v1", "ts": "1.0", "thread_ts": "1700000000.000100"}})
    wait(lambda: step_status(runtime, run, "write") == "completed")
    click(url, a.SUBMIT, run, "check", "U01ANN")
    meta = json.loads(wait(lambda: fake.calls_to("views.open"))[0].params["view"]["private_metadata"])
    submit(url, a.STEP_FORM, meta, {"words": {"value": {"type": "number_input", "value": "30"}}}, "U01ANN")
    click(url, a.REJECT, run, "approve", "U03CAT", n=2)
    view = wait(lambda: fake.calls_to("views.open")[1:])[0].params["view"]
    assert view["callback_id"] == a.REJECT_FORM
    submit(url, a.REJECT_FORM, json.loads(view["private_metadata"]),
           {"reason": {"value": {"type": "plain_text_input", "value": "Too short"}}}, "U03CAT", view_id="V9")
    wait(lambda: step_status(runtime, run, "write") == "waiting_on_person")
    event(url, {"type": "event_callback", "event_id": "Ev3", "event": {"type": "app_home_opened", "user": "U01ANN", "tab": "home"}})
    published = wait(lambda: fake.calls_to("views.publish"))[0]
    assert published.params["user_id"] == "U01ANN" and "write" in json.dumps(published.params["view"]).lower()


def test_a_double_click_approves_once(live):
    url, fake, runtime, run = live
    event(url, {"type": "event_callback", "event_id": "Ev9", "event": {
        "type": "message", "channel": "C0WORK", "user": "U01ANN", "text": "v1", "ts": "1.0", "thread_ts": "1700000000.000100"}})
    wait(lambda: step_status(runtime, run, "write") == "completed")
    runtime.service.handle(run, ev.Answer("check", "U01ANN", {"words": 50}))
    clicks = [threading.Thread(target=click, args=(url, a.APPROVE, run, "approve", "U03CAT", n)) for n in (5, 6)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()
    wait(lambda: scalar(runtime, "select status from runs") == "completed")
    time.sleep(0.3)
    assert scalar(runtime, "select count(*) from audit_events where type = 'step_completed' and step_id = 'approve'") == 1
    refused = wait(lambda: [c for c in fake.calls_to("chat.postEphemeral") if "Not done" in c.params["text"]])
    assert len(refused) == 1
