"""Requests not signed by Slack (forged, missing, stale, from the future, for another body,
with another secret or scheme) are refused with 401 for every payload kind, and change
nothing: no run, no inbound event, no outbox row, no audit row, no call to Slack. The same
request correctly signed does change things, so each case could fail."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest

from bot.slack.blocks import actions as a
from tests.hostile.conftest import STARTER, Live
from tests.hostile.payloads import click, message, text_value, view_submission
from tests.slack.signed import post, sign

CASES = ["forged", "missing", "stale", "future", "other_secret", "altered_body", "other_scheme"]
# Bolt would raise on these before checking the signature (a 500); the web layer turns them
# away first (`bot.slack.lookup.request_problem`, called from `bot.slack.web`).
UNREADABLE_TIMESTAMPS = ["timestamp_not_a_number", "timestamp_missing"]
KINDS = ["slash_command", "block_action", "view_submission", "event"]


def request_for(live: Live, kind: str, run_id: str) -> tuple[bytes, str]:
    """A request of `kind` that changes the database when correctly signed."""
    form = "application/x-www-form-urlencoded"
    match kind:
        case "slash_command":
            fields = {"command": "/conductor", "text": "start hostile title=signed", "user_id": STARTER,
                      "channel_id": "C0WORK", "team_id": "T0FAKETEAM", "trigger_id": "trig-sig"}
            return urllib.parse.urlencode(fields).encode(), form
        case "block_action":  # Need help: an outbox message and an audit row
            payload = click(STARTER, a.HELP, run_id, "note", n=7)
        case "view_submission":  # the note step's form
            payload = view_submission(STARTER, a.STEP_FORM, {"run_id": run_id, "step_id": "note"},
                                      {"note": text_value("signed note")})
        case _:
            event = message(STARTER, "signed reply", "EvSig", thread_ts=live.thread_of(run_id))
            return json.dumps(event).encode(), "application/json"
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), form


def send(live: Live, body: bytes, content_type: str, case: str | None) -> int:
    now = int(time.time())
    kw: dict = {}
    match case:
        case "forged":
            kw = {"signature": "v0=" + "0" * 64}
        case "missing":
            kw = {"signature": ""}
        case "stale":
            kw = {"timestamp": now - 600}
        case "future":
            kw = {"timestamp": now + 600}
        case "other_secret":
            kw = {"signature": sign(body, now, secret="another-apps-secret"), "timestamp": now}
        case "altered_body":
            kw = {"signature": sign(body, now), "timestamp": now}
            body = body.replace(STARTER.encode(), b"U02BOB")  # impersonation
        case "other_scheme":
            kw = {"signature": "v1=" + sign(body, now).removeprefix("v0="), "timestamp": now}
        case "timestamp_not_a_number":
            kw = {"headers": {"X-Slack-Request-Timestamp": "soon"}}
        case "timestamp_missing":
            kw = {"headers": {"X-Slack-Request-Timestamp": ""}}
    status, _, _ = post(live.url, body, content_type, **kw)
    return status


@pytest.mark.parametrize("kind", KINDS)
def test_unsigned_requests_change_nothing(live: Live, kind: str):
    run_id = live.start()
    body, content_type = request_for(live, kind, run_id)
    before, calls_before, state_before = live.counts(), len(live.fake.calls), live.state(run_id)
    tried = 0
    for case in CASES:
        assert send(live, body, content_type, case) == 401, case
        tried += 1
    live.idle()
    assert live.counts() == before
    assert len(live.fake.calls) == calls_before
    assert live.state(run_id) == state_before
    assert live.logs.errors() == []
    print(f"{kind}: {tried} unsigned requests refused")

    # The control: the same request, correctly signed, is applied.
    assert send(live, body, content_type, None) == 200
    live.idle()
    after = live.counts()
    assert after["inbound_events"] == before["inbound_events"] + 1
    assert after != before


@pytest.mark.parametrize("kind", KINDS)
def test_unreadable_timestamps_are_refused(live: Live, kind: str):
    run_id = live.start()
    body, content_type = request_for(live, kind, run_id)
    before, calls_before = live.counts(), len(live.fake.calls)
    for case in UNREADABLE_TIMESTAMPS:
        assert send(live, body, content_type, case) == 401, case
    live.idle()
    assert live.counts() == before and len(live.fake.calls) == calls_before
    assert live.logs.errors() == []
