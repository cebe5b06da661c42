"""`conductor doctor` against the local Slack: a healthy workspace is all ok (exit 0), and each
planted problem is one failed line naming its fix (exit 1), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.scheduling.leader import Leadership
from tests.doctor.stage import GRANTED, doctor, line, settings_for, workspace, write_workflows


@pytest.fixture
def leading_clock(migrated_db_url: str):
    """A migrated database with a clock leading it."""
    leadership = Leadership(migrated_db_url)
    assert leadership.try_acquire()
    try:
        yield migrated_db_url
    finally:
        leadership.release()


def test_a_healthy_workspace_is_all_ok(leading_clock: str, tmp_path: Path):
    folder = write_workflows(tmp_path / "workflows")
    with workspace() as slack:
        content, ops = slack.channel_id("#content"), slack.channel_id("#content-ops")
        status, lines = doctor(settings_for(slack, leading_clock, folder))
    assert status == 0, lines
    assert all(text.startswith(("ok    ", "note  ")) for text in lines), lines
    assert lines[:12] == [
        f"ok    workflows: 2 files in {folder} loaded: blog, daily",
        "ok    token: bot @conductor (U0BOT) in team Acme (T0001)",
        f"ok    scopes: all {len(GRANTED)} needed are granted",
        f"ok    channel #content: the bot is in it ({content}; runs of blog)",
        f"ok    channel #content-ops: the bot is in it ({ops}; escalations of blog)",
        "ok    channel C0STANDUP: the bot is in it (C0STANDUP; runs of daily)",
        "ok    user U01EDITOR: Maria Editor (@maria.editor)",
        "ok    user U02ANA: Ana Lima (@ana.lima)",
        "ok    user U03BEN: Ben Okafor (@ben.okafor)",
        "ok    user group S01WRITERS: @writers, 2 members",
        "ok    escalation: blog → #content-ops",
        "ok    secrets: CMS_TOKEN is set",
    ]
    assert line(lines, "ok    signing secret:")
    assert line(lines, "note  Socket Mode: not configured")
    assert line(lines, "ok    database: ").endswith("is at the newest revision (0008)")
    assert line(lines, "ok    clock: a clock leads")


def test_a_missing_channel_scope_and_user_group_are_each_named(migrated_db_url: str, tmp_path: Path):
    folder = write_workflows(tmp_path / "workflows")
    with workspace(lacking=["#content-ops", "im:write", "S01WRITERS"]) as slack:
        status, lines = doctor(settings_for(slack, migrated_db_url, folder))
    assert status == 1
    assert line(lines, "FAIL  scope im:write") == (
        "FAIL  scope im:write: not granted; needed to send stand-up questions by DM — add it to the "
        "app's Bot Token Scopes (OAuth & Permissions, or oauth_config.scopes.bot in "
        "bot/slack/manifest.yml) and reinstall the app")
    assert line(lines, "FAIL  channel #content-ops") == (
        "FAIL  channel #content-ops: not found — create it (if it is private, invite @conductor to "
        f"it), or fix {folder}/blog.yaml:4")
    assert line(lines, "FAIL  user group S01WRITERS") == (
        "FAIL  user group S01WRITERS: not found in this workspace — create it, or copy the group's "
        f"ID (S…) from its page in Slack into {folder}/blog.yaml:7")
    assert line(lines, "FAIL  clock") == (
        "FAIL  clock: no clock leads — start `conductor clock` (or `conductor serve` with its clock)")
    assert line(lines, "ok    channel #content:") and line(lines, "ok    user U01EDITOR")
    failures = [text for text in lines if text.startswith("FAIL")]
    assert len(failures) == 4, failures


def test_channels_the_bot_is_not_in_or_archived(tmp_path: Path):
    folder = write_workflows(tmp_path / "workflows")
    with workspace(lacking=["#standup"]) as slack:
        _, lines = doctor(settings_for(slack, "sqlite://", folder))
    assert line(lines, "FAIL  channel C0STANDUP:") == (
        "FAIL  channel C0STANDUP: not found — create it (if it is private, invite @conductor to it), "
        f"or fix {folder}/daily.yaml:2")
    with workspace() as slack:
        slack.add_channel("#content", member=False)
        slack.add_channel("standup", channel_id="C0STANDUP", archived=True)
        slack.add_channel("#content-ops", private=True, member=False)  # invisible to the bot
        _, lines = doctor(settings_for(slack, "sqlite://", folder))
    assert line(lines, "FAIL  channel #content:") == (
        "FAIL  channel #content: the bot is not in it: thread replies would not reach it — invite it: "
        "`/invite @conductor` in #content")
    assert line(lines, "FAIL  channel C0STANDUP:") == (
        f"FAIL  channel C0STANDUP: archived — unarchive it, or name another channel in {folder}/daily.yaml:2")
    assert line(lines, "FAIL  channel #content-ops:").startswith("FAIL  channel #content-ops: not found")


def test_channels_are_found_across_pages(tmp_path: Path):
    folder = write_workflows(tmp_path / "workflows")
    with workspace(lacking=["#content", "#content-ops"]) as slack:
        for n in range(450):
            slack.add_channel(f"team-{n:03d}")
        slack.add_channel("#content")
        slack.add_channel("#content-ops")
        slack.fail_next("conversations.list", status=429)  # waited out (Retry-After: 1), then asked again
        _, lines = doctor(settings_for(slack, "sqlite://", folder))
        listed = slack.calls_to("conversations.list")
    assert line(lines, "ok    channel #content:") and line(lines, "ok    channel #content-ops:")
    assert [c.status for c in listed] == [429, 200, 200, 200]
    assert [bool(c.params.get("cursor")) for c in listed] == [False, False, True, True]
    assert listed[0].params["types"] == "public_channel,private_channel"  # groups:read: private ones too


def test_without_channels_read_one_line_says_why(tmp_path: Path):
    folder = write_workflows(tmp_path / "workflows")
    with workspace(lacking=["channels:read", "users:read"]) as slack:
        status, lines = doctor(settings_for(slack, "sqlite://", folder))
    assert status == 1
    assert line(lines, "FAIL  scope channels:read").startswith(
        "FAIL  scope channels:read: not granted; needed to find the channels workflows name by their #name")
    assert line(lines, "FAIL  channels:") == (
        "FAIL  channels: cannot be checked: the token lacks channels:read — grant channels:read "
        "(see the scope lines)")
    assert line(lines, "FAIL  users:") == (
        "FAIL  users: cannot be checked: the token lacks users:read — grant users:read (see the scope lines)")
    assert not [text for text in lines if text.startswith(("ok    channel", "FAIL  channel "))]


def test_unknown_and_deactivated_people(tmp_path: Path):
    folder = write_workflows(tmp_path / "workflows")
    with workspace() as slack:
        del slack.users["U03BEN"]
        slack.users["U02ANA"] = {"real_name": "Ana Lima", "deleted": True}
        _, lines = doctor(settings_for(slack, "sqlite://", folder, admins="U0ADMIN"))
    assert line(lines, "FAIL  user U03BEN") == (
        "FAIL  user U03BEN: not found in this workspace — copy the member ID from the person's profile "
        f"(⋮ → Copy member ID) into {folder}/daily.yaml:4")
    assert line(lines, "FAIL  user U02ANA") == (
        f"FAIL  user U02ANA: deactivated — name someone else in {folder}/daily.yaml:4")
    assert line(lines, "FAIL  user U0ADMIN").endswith("into ADMINS")


def test_token_missing_refused_or_not_a_bot(tmp_path: Path):
    folder = write_workflows(tmp_path / "workflows")
    with workspace(token="xoxb-right") as slack:
        status, lines = doctor(settings_for(slack, "sqlite://", folder, slack_bot_token=None))
        assert status == 1
        assert line(lines, "FAIL  token") == (
            "FAIL  token: SLACK_BOT_TOKEN is not set — set it to the app's Bot User OAuth Token "
            "(xoxb-…, under OAuth & Permissions)")
        assert line(lines, "skip  workspace") and not slack.calls_to("users.info")
        _, lines = doctor(settings_for(slack, "sqlite://", folder, slack_bot_token="xoxb-wrong"))
        assert line(lines, "FAIL  token") == (
            "FAIL  token: Slack refused SLACK_BOT_TOKEN (invalid_auth) — copy the Bot User OAuth Token "
            "again from OAuth & Permissions (reinstalling the app issues a new one)")
        slack.bot_id = ""  # as auth.test answers for a person's token
        _, lines = doctor(settings_for(slack, "sqlite://", folder, slack_bot_token="xoxb-right"))
        assert line(lines, "FAIL  token").startswith("FAIL  token: SLACK_BOT_TOKEN belongs to @conductor, a person")


def test_slack_away_is_a_failed_line_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = write_workflows(tmp_path / "workflows")
    with workspace() as slack:
        url = slack.url
        slack.set_down()
        status, lines = doctor(settings_for(slack, "sqlite://", folder))
        assert status == 1
        assert line(lines, "FAIL  token") == (
            f"FAIL  token: cannot reach Slack at {url}: Slack answered HTTP 503 (service_unavailable) — "
            "check SLACK_API_URL and the network (proxy, firewall)")
        slack.set_down(False)
        monkeypatch.setattr("bot.doctor.slack_api.CALL_TIMEOUT_SECONDS", 0.3)
        slack.hang_next("auth.test", 2)
        _, lines = doctor(settings_for(slack, "sqlite://", folder))
        assert line(lines, "FAIL  token").startswith(f"FAIL  token: cannot reach Slack at {url}: no answer within 0.3 s")
    _, lines = doctor(settings_for(url, "sqlite://", folder))  # closed: nothing listens there
    assert line(lines, "FAIL  token").startswith(f"FAIL  token: cannot reach Slack at {url}: Connection refused")
    assert line(lines, "skip  workspace")


def test_socket_mode_app_token(tmp_path: Path):
    folder = write_workflows(tmp_path / "workflows")
    with workspace(app_token="xapp-1-right") as slack:
        settings = settings_for(slack, "sqlite://", folder, slack_app_token="xapp-1-right", slack_signing_secret=None)
        _, lines = doctor(settings)
        assert line(lines, "FAIL  Socket Mode") == (
            "FAIL  Socket Mode: Slack could not open a connection (internal_error) — turn Socket Mode on "
            "in the app's settings, then run conductor doctor again")
        assert line(lines, "note  signing secret") == (
            "note  signing secret: SLACK_SIGNING_SECRET is not set: fine for Socket Mode; over HTTP every "
            "request would be refused")
        slack.socket_url = "ws://127.0.0.1:1/socket"
        _status, lines = doctor(settings)
        assert line(lines, "ok    Socket Mode") == "ok    Socket Mode: the app token opens a connection"
        assert slack.calls_to("apps.connections.open")[-1].headers["authorization"] == "Bearer xapp-1-right"
        _, lines = doctor(settings_for(slack, "sqlite://", folder, slack_app_token="xapp-1-wrong"))
        assert line(lines, "FAIL  Socket Mode").startswith(
            "FAIL  Socket Mode: Slack refused SLACK_APP_TOKEN (invalid_auth) — generate an app-level token")
        _, lines = doctor(settings_for(slack, "sqlite://", folder, slack_app_token="xoxb-test"))
        assert line(lines, "FAIL  Socket Mode").startswith(
            "FAIL  Socket Mode: SLACK_APP_TOKEN is not an app-level token (xapp-…)")
