"""Hundreds of random payloads, correctly signed, sent to the running app: each valid kind of
payload with one part replaced by junk or removed, and junk alone. None gets a 500, none makes
the app log an ERROR, and the run they aim at is changed only by what its people may do."""

from __future__ import annotations

import json
import random
import urllib.parse
from typing import Any

import pytest

from tests.hostile.conftest import WORKFLOWS, Live, serve
from tests.hostile.junk import mutated, random_junk, valid_payloads
from tests.slack.signed import post

SEED = 20260302
PAYLOADS = 400


@pytest.fixture
def slack_paced(migrated_db_url: str):
    """The app against a fake Slack with Slack's own pace (one message per second per
    channel): the notes to one person are then rate limited, as they would be."""
    with serve(migrated_db_url, WORKFLOWS, slack_rate=1.0) as app:
        yield app


def encoded(payload: Any) -> tuple[bytes, str]:
    """The request body Slack would send for `payload`."""
    if isinstance(payload, dict) and payload.get("type") == "event_callback":
        return json.dumps(payload).encode(), "application/json"
    if isinstance(payload, dict) and "command" in payload:
        return urllib.parse.urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}).encode(), \
            "application/x-www-form-urlencoded"
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def send(live: Live, payload: Any) -> int:
    status, _, _ = post(live.url, *encoded(payload))
    return status


def test_random_signed_payloads_never_get_a_500(slack_paced: Live):
    live = slack_paced
    rng = random.Random(SEED)
    run_id = live.start()
    templates = valid_payloads(run_id, live.thread_of(run_id)) + [
        {"command": "/conductor", "text": "status", "user_id": "U01ANN", "channel_id": "C0WORK", "trigger_id": "t"}]
    statuses: dict[int, int] = {}
    for n in range(PAYLOADS):
        payload = mutated(rng, rng.choice(templates), random_junk(rng)) if n % 5 else random_junk(rng)
        if isinstance(payload, dict) and payload.get("type") == "event_callback":
            payload["event_id"] = f"EvFuzz{n}" if rng.random() < 0.9 else payload.get("event_id")
        status = send(live, payload)
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (status, payload)
    live.idle()
    assert live.logs.errors() == []
    assert live.state(run_id).steps["note"].status.value in ("waiting_on_person", "completed")
    print(f"http fuzz: {PAYLOADS} random signed payloads, by status {dict(sorted(statuses.items()))}")
