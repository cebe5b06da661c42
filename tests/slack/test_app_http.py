"""The real Bolt app over real HTTP, with signed requests, against the fake Slack Web API."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.fakeslack import FakeSlack
from tests.slack.live import clock_from, running_app, slack_settings
from tests.slack.signed import event, post, slash_command

WORKFLOW = """
id: review
channel: "#work"
roles: {team: [U01ANN, U02BOB]}
permissions: {start: [team], cancel: [team]}
inputs: {title: string}
steps:
  - {id: write, ask: starter, outputs: {text: text}}
"""


@pytest.fixture
def app_url(migrated_db_url, tmp_path):
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, {"review.yaml": WORKFLOW}, admins="U01ANN")
        # The service's clock: away days are listed and cleared from its today, so the 2030 days
        # below stay ahead of it whatever year the suite runs in.
        with running_app(settings, clock=clock_from(datetime(2026, 3, 4, 12, 0, tzinfo=UTC))) as (url, runtime):
            yield url.removesuffix("/slack/events"), fake, runtime


def ephemerals(fake, count: int, timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        texts = [c.params.get("text", "") for c in fake.calls_to("chat.postEphemeral")]
        if len(texts) >= count:
            return texts
        time.sleep(0.02)
    raise AssertionError(f"expected {count} ephemeral answers, got {len(fake.calls_to('chat.postEphemeral'))}")


def opened_views(fake, timeout: float = 5.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not fake.calls_to("views.open"):
        assert time.monotonic() < deadline, "no form was opened"
        time.sleep(0.02)
    return [c.params["view"] for c in fake.calls_to("views.open")]


def test_start_a_run_by_command_acknowledged_fast(app_url):
    base, fake, runtime = app_url
    status, body, seconds = slash_command(f"{base}/slack/events", 'start review title="Hello"')
    assert status == 200 and seconds < 3
    answer = ephemerals(fake, 1)[0]
    assert answer.startswith("Started `review` as run `")
    with runtime.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("select started_by from runs")).scalar_one() == "U01ANN"
    status, _, _ = slash_command(f"{base}/slack/events", "runs", trigger="t2")
    assert "Active runs" in ephemerals(fake, 2)[1]


def test_bad_input_gets_a_short_private_explanation(app_url):
    base, fake, _ = app_url
    slash_command(f"{base}/slack/events", "launch rockets")
    slash_command(f"{base}/slack/events", "start review", trigger="t2")
    slash_command(f"{base}/slack/events", "start review title=x", user="U09STRANGER", trigger="t3")
    first, second = sorted(ephemerals(fake, 2), key=lambda t: "launch" not in t)
    assert "`launch` is not a command I know" in first and "/conductor start" in first
    assert "may not start" in second
    # A start missing its inputs opens a form asking for them.
    view = opened_views(fake)[0]
    assert view["callback_id"] == "conductor_start_form" and [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["title"]


def test_diagnose_opens_the_four_questions(app_url):
    base, fake, _ = app_url
    slash_command(f"{base}/slack/events", "diagnose")
    assert opened_views(fake)[0]["callback_id"] == "conductor_diagnose_form"


def test_reload_is_for_admins(app_url):
    base, fake, _ = app_url
    slash_command(f"{base}/slack/events", "reload", user="U02BOB")
    assert "Only Conductor's admins" in ephemerals(fake, 1)[0]
    slash_command(f"{base}/slack/events", "reload", user="U01ANN", trigger="t2")
    assert "Reloaded 1 workflow file" in ephemerals(fake, 2)[1]


@pytest.mark.parametrize("case", ["forged", "missing", "stale"])
def test_unsigned_or_stale_requests_are_refused(app_url, case):
    base, fake, runtime = app_url
    kwargs = {"forged": {"signature": "v0=" + "0" * 64}, "missing": {"signature": ""},
              "stale": {"timestamp": int(time.time()) - 600}}[case]
    status, _, _ = slash_command(f"{base}/slack/events", "start review title=x", **kwargs)
    assert status == 401
    time.sleep(0.3)
    assert fake.calls_to("chat.postEphemeral") == []
    with runtime.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("select count(*) from runs")).scalar_one() == 0


def test_url_verification_and_health(app_url):
    base, _, _ = app_url
    status, body, _ = event(f"{base}/slack/events", {"type": "url_verification", "challenge": "abc123"})
    assert status == 200 and b"abc123" in body
    import urllib.request

    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
        assert response.status == 200


def test_oversized_payloads_are_refused(app_url):
    base, _, _ = app_url
    status, _, _ = post(f"{base}/slack/events", b"x" * (1024 * 1024 + 1), "application/x-www-form-urlencoded")
    assert status == 413


def test_away_from_chat(app_url):
    base, fake, runtime = app_url
    slash_command(f"{base}/slack/events", "away 2030-03-02..2030-03-06", user="U02BOB")
    assert "Marked away Sat 02 Mar–Wed 06 Mar" in ephemerals(fake, 1)[0]
    slash_command(f"{base}/slack/events", "away", user="U02BOB", trigger="t2")
    assert "You are away Sat 02 Mar–Wed 06 Mar" in ephemerals(fake, 2)[1]
    slash_command(f"{base}/slack/events", "away 2030-03-06..2030-03-02", user="U02BOB", trigger="t3")
    assert "Could not read that" in ephemerals(fake, 3)[2]
    slash_command(f"{base}/slack/events", "away off", user="U02BOB", trigger="t4")
    assert "1 away period(s) removed" in ephemerals(fake, 4)[3]
