"""The leading clock's people refresh: at once, then on its schedule; one INFO line per refresh,
a WARNING when Slack is down (and the tables keep what they had), never an exception; it ends
when told to."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import text

from bot.processes import people_refresh
from bot.runtime import build_runtime
from bot.settings import Settings
from tests.fakeslack import FakeSlack
from tests.polling import wait_for
from tests.slack.live import slack_settings


def count(runtime, table: str) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(text(f"select count(*) from {table}")).scalar_one()


def test_refreshes_at_start_then_on_schedule_and_survives_slack_being_down(migrated_db_url, tmp_path, monkeypatch,
                                                                          caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="conductor.people")
    monkeypatch.setattr(people_refresh, "REFRESH_SECONDS", 0.2)
    users = {f"U{n:03d}X": {"tz": "Europe/Berlin"} for n in range(5)}
    with FakeSlack(users=users, groups={"S0TEAM": list(users)[:3]}) as fake:
        runtime = build_runtime(slack_settings(migrated_db_url, tmp_path / "wf", fake, {}))
        stop = threading.Event()
        try:
            thread = people_refresh.start_people_refresh(runtime.settings, runtime, stop)
            assert thread is not None
            wait_for(lambda: count(runtime, "user_group_members") == 3, 10)
            wait_for(lambda: len(fake.calls_to("users.list")) >= 2, 10)  # and again on schedule
            fake.set_down(True)
            wait_for(lambda: any(r.levelno == logging.WARNING for r in caplog.records), 10)
            assert count(runtime, "people") == 5  # what the last good refresh wrote stays
            stop.set()
            thread.join(timeout=5)
            assert not thread.is_alive()
        finally:
            stop.set()
            runtime.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "conductor.people"]
    assert any("5 people, 1 user groups, 3 memberships" in line for line in lines)
    assert any("could not refresh people from Slack" in line and "service_unavailable" in line for line in lines)


def test_without_a_bot_token_there_is_nothing_to_read(migrated_db_url, tmp_path):
    runtime = build_runtime(Settings(database_url=migrated_db_url, workflows_dir=str(tmp_path)))
    try:
        assert people_refresh.start_people_refresh(runtime.settings, runtime, threading.Event()) is None
    finally:
        runtime.close()
