"""Broken payloads, correctly signed: too large, not JSON, JSON of the wrong shape, missing
fields, wrong types, unknown action ids, values naming runs and steps that do not exist or
belong elsewhere, tampered form metadata. Each gets a clean answer (2xx with an explanation,
or an error for the form, or 4xx): never a 500, never a traceback in the answer or an ERROR
in the logs, and nothing written."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from bot.slack.blocks import actions as a
from bot.slack.web import MAX_BODY_BYTES
from tests.hostile.conftest import STARTER, Live
from tests.hostile.payloads import block_action, click, message, text_value, view_submission
from tests.slack.signed import post

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def check_clean(live: Live, status: int, answer: bytes, what: str) -> None:
    assert status < 500, f"{what}: {status} {answer[:200]!r}"
    assert b"Traceback" not in answer and b"Error" not in answer, what


def test_oversized_payloads_are_refused_unread(live: Live):
    before = live.counts()
    bodies = [
        (b"x" * (MAX_BODY_BYTES + 1), FORM),
        (json.dumps({"type": "event_callback", "event": {"type": "message", "text": "x" * MAX_BODY_BYTES}}).encode(), JSON),
        (urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions", "pad": "y" * MAX_BODY_BYTES})}).encode(), FORM),
        (urllib.parse.urlencode({"command": "/conductor", "text": "start hostile title=" + "z" * MAX_BODY_BYTES}).encode(), FORM),
    ]
    for body, content_type in bodies:
        status, _, _ = post(live.url, body, content_type)
        assert status == 413
    live.idle()
    assert live.counts() == before and live.logs.errors() == []
    print(f"oversized: {len(bodies)} refused with 413")


def interactive_body(payload: Any) -> bytes:
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


# Bodies Bolt itself cannot parse (it raises before any listener): turned away by the web layer.
UNPARSABLE = [
    (b"{not json", JSON), (b"[1, 2]", JSON), (b'"text"', JSON), (b"\xff\xfe not utf-8", JSON),
    (b"payload=%7Bnope", FORM), (b"payload=%5B1%5D", FORM), (b"payload=%22x%22", FORM),
    (b"payload=" + b"%5B" * 5000, FORM),
    (json.dumps({"type": "event_callback", "event": "a string"}).encode(), JSON),
    (json.dumps({"type": "event_callback", "event": ["type"]}).encode(), JSON),
]


def test_bodies_bolt_cannot_parse_get_400(live: Live):
    before = live.counts()
    for body, content_type in UNPARSABLE:
        status, answer, _ = post(live.url, body, content_type)
        check_clean(live, status, answer, repr(body[:40]))
        assert status == 400
    live.idle()
    assert live.counts() == before and live.logs.errors() == []
    print(f"unparsable: {len(UNPARSABLE)} refused with 400")


def malformed_payloads(run_id: str, other_run: str) -> list[tuple[str, Any]]:
    """(label, payload) pairs that pass the signature and must change nothing."""
    ok_click = click(STARTER, a.HELP, run_id, "note")
    step_meta = {"run_id": run_id, "step_id": "note"}
    note = {"note": text_value("x")}
    cases: list[tuple[str, Any]] = [
        ("no type", {"user": {"id": STARTER}}),
        ("unknown type", {"type": "zzz", "user": {"id": STARTER}}),
        ("shortcut", {"type": "shortcut", "callback_id": "x", "user": {"id": STARTER}}),
        ("action without user", {**ok_click, "user": None}),
        ("action user is text", {**ok_click, "user": STARTER}),
        ("action user id is a number", {**ok_click, "user": {"id": 7}}),
        ("no actions", {**ok_click, "actions": []}),
        ("actions is an object", {**ok_click, "actions": {"action_id": a.HELP}}),
        ("action is text", {**ok_click, "actions": ["conductor_help"]}),
        ("action id is a number", {**ok_click, "actions": [{"action_id": 5}]}),
        ("unknown action id", block_action(STARTER, "conductor_launch_rockets", "x")),
        ("channel is text", {**ok_click, "channel": "C0WORK"}),
        ("value missing", block_action(STARTER, a.HELP, None)),
        ("value not JSON", block_action(STARTER, a.HELP, "{{{")),
        ("value JSON list", block_action(STARTER, a.HELP, "[1,2]")),
        ("value ids are objects", block_action(STARTER, a.HELP, '{"run_id": {"a": 1}, "step_id": [1]}')),
        ("value deeply nested", block_action(STARTER, a.HELP, "[" * 1900)),
        ("value run unknown", click(STARTER, a.HELP, "nosuchrun", "note")),
        ("value step unknown", click(STARTER, a.HELP, run_id, "no_such_step")),
        ("value step of another workflow", click(STARTER, a.RETRY, other_run, "note")),
        ("value run id SQL", click(STARTER, a.HELP, "x' OR '1'='1", "note")),
        ("value run id huge", click(STARTER, a.HELP, "r" * 1500, "note")),
        ("decide without choice", click(STARTER, a.DECIDE, run_id, "note")),
        ("view without user", {**view_submission(STARTER, a.STEP_FORM, step_meta, note), "user": {}}),
        ("view is text", {**view_submission(STARTER, a.STEP_FORM, step_meta, note), "view": "V1"}),
        ("view without type", _view(step_meta, note, drop="type")),
        ("view without id", _view(step_meta, note, drop="id")),
        ("view without state", _view(step_meta, note, drop="state")),
        ("view values is a list", _view(step_meta, [1, 2])),
        ("view metadata is a number", _view(step_meta, note, private_metadata=5)),
        ("unknown callback id", view_submission(STARTER, "conductor_launch_form", step_meta, note)),
        ("metadata not JSON", view_submission(STARTER, a.STEP_FORM, "{run_id:", note)),
        ("metadata JSON list", view_submission(STARTER, a.STEP_FORM, "[1]", note)),
        ("metadata ids are objects", view_submission(STARTER, a.STEP_FORM, {"run_id": {"$ne": 1}, "step_id": ["note"]}, note)),
        ("metadata run unknown", view_submission(STARTER, a.STEP_FORM, {"run_id": "zzzz", "step_id": "note"}, note)),
        ("metadata step of another workflow", view_submission(STARTER, a.STEP_FORM, {"run_id": other_run, "step_id": "note"}, note)),
        ("metadata deeply nested", view_submission(STARTER, a.STEP_FORM, "[" * 2900, note)),
        ("start form unknown workflow", view_submission(STARTER, a.START_FORM, {"workflow_id": "../../etc"}, {})),
        ("start form workflow is a list", view_submission(STARTER, a.START_FORM, {"workflow_id": ["hostile"]}, {})),
        ("start form given is text", view_submission(STARTER, a.START_FORM, {"workflow_id": "nope", "given": "x"}, {})),
        ("form block is a list", view_submission(STARTER, a.STEP_FORM, step_meta, {"note": [1]})),
        ("form value is an object", view_submission(STARTER, a.STEP_FORM, {"run_id": "zzzz", "step_id": "note"},
                                                    {"note": {"value": {"type": "plain_text_input", "value": {"a": 1}}}})),
        ("NUL in text", view_submission(STARTER, a.STEP_FORM, step_meta, {"note": text_value("a\x00b")})),
        ("lone surrogate", view_submission(STARTER, a.STEP_FORM, step_meta, {"note": text_value("a\ud800b")})),
        ("event without event", {"type": "event_callback", "event_id": "Ev1"}),
        ("event type is a number", {"type": "event_callback", "event_id": "Ev2", "event": {"type": 5}}),
        ("message without channel", _event(run_id, drop="channel")),
        ("message without user", _event(run_id, drop="user")),
        ("message user is a list", _event(run_id, user=[STARTER])),
        ("message channel is an object", _event(run_id, channel={"id": "C0WORK"})),
        ("message thread is a number", _event(run_id, thread_ts=5)),
        ("message text is an object", _event(run_id, text={"a": 1})),
        ("message without event id", {**message(STARTER, "hi", "x", thread_ts="1.0"), "event_id": None}),
        ("message in an unknown thread", message(STARTER, "hi", "Ev5", thread_ts="999.999")),
        ("message edit", _event(run_id, subtype="message_changed")),
        ("home without user", {"type": "event_callback", "event_id": "Ev6", "event": {"type": "app_home_opened"}}),
        ("home user is an object", {"type": "event_callback", "event_id": "Ev7", "event": {"type": "app_home_opened", "user": {}}}),
        ("event id is an object", {**message(STARTER, "hi", "x", thread_ts="1.0"), "event_id": {"a": 1}}),
    ]
    return cases


def _view(meta: dict, values: Any, *, drop: str | None = None, **changes: Any) -> dict:
    payload = view_submission(STARTER, a.STEP_FORM, meta, values)
    payload["view"].update(changes)
    if drop:
        payload["view"].pop(drop)
    return payload


def _event(run_id: str, *, drop: str | None = None, **changes: Any) -> dict:
    payload = message(STARTER, "an answer", f"Ev-{drop}-{sorted(changes)}", thread_ts=THREAD_OF[run_id])
    payload["event"].update(changes)
    if drop:
        payload["event"].pop(drop)
    return payload


THREAD_OF: dict[str, str] = {}


def test_malformed_payloads_get_clean_answers_and_change_nothing(live: Live):
    run_id = live.start()
    other = live.start("escalating")
    THREAD_OF[run_id] = live.thread_of(run_id)
    live.idle()
    before, state = live.counts(), live.state(run_id)
    statuses: dict[int, int] = {}
    cases = malformed_payloads(run_id, other)
    for label, payload in cases:
        if payload.get("type") == "event_callback":
            status, answer, _ = post(live.url, json.dumps(payload).encode(), JSON)
        else:
            status, answer = live.interactive(payload)
        check_clean(live, status, answer, label)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200 and answer.strip():
            assert json.loads(answer).get("response_action") == "errors", label
    live.idle()
    after = live.counts()
    # Nothing changed but the record of refusals (a form naming a real step with unreadable
    # values is refused by the engine, which audits it and claims the submission's key).
    assert {k: v for k, v in after.items() if k not in ("audit_events", "inbound_events")} == \
        {k: v for k, v in before.items() if k not in ("audit_events", "inbound_events")}
    refusals = live.scalar("select count(*) from audit_events where type = 'refused'")
    assert after["audit_events"] - before["audit_events"] == refusals <= 2
    assert live.state(run_id) == state
    assert live.logs.errors() == []
    # Whoever clicked or submitted something about nothing was told so, privately.
    told = live.said_to(STARTER)
    assert told and all("Something went wrong" not in t for t in told)
    assert any("no longer exists" in t for t in told) and any("is not a workflow I know" in t for t in told)
    print(f"malformed: {len(cases)} payloads, answers by status {statuses}")


def test_tampered_metadata_naming_someone_elses_step_is_refused_and_audited(live: Live):
    """Metadata edited to name a step the submitter is not asked for is only a request: the
    engine refuses it, the form shows why, and the refusal is audited."""
    run_id = live.start(user="U02BOB")  # Bob's run: the note is Bob's to write
    status, answer = live.interactive(view_submission(STARTER, a.STEP_FORM, {"run_id": run_id, "step_id": "note"},
                                                      {"note": text_value("not mine to write")}))
    assert status == 200
    errors = json.loads(answer)["errors"]
    assert "not yours" in errors["note"] or "may" in errors["note"]
    assert live.state(run_id).steps["note"].status.value == "waiting_on_person"
    assert live.scalar("select count(*) from audit_events where type = 'refused' and actor = :u and run_id = :r",
                       u=STARTER, r=run_id) == 1
