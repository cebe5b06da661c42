"""Slack's news about people, through the real app over signed HTTP: answered at once, then the
person or group is read again and the tables (and the engine's snapshot) follow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.slack.events import people as people_events
from bot.slack.people import refresh_people
from bot.slack.web import wsgi_app
from tests.fakeslack import FakeSlack
from tests.polling import wait_for
from tests.slack.live import serve_wsgi, slack_settings
from tests.slack.signed import event


@contextmanager
def app_with_people_events(settings: Settings) -> Iterator[tuple[str, Runtime]]:
    """The app, with the people listeners registered beside the others."""
    runtime = build_runtime(settings)
    try:
        app = build_app(runtime, make_client(settings))
        people_events.register(app, runtime)
        with serve_wsgi(wsgi_app(app, database=runtime.engine)) as url:
            yield url, runtime
    finally:
        runtime.close()


def envelope(n: int, inner: dict) -> dict:
    return {"type": "event_callback", "event_id": f"EvP{n}", "team_id": "T0FAKETEAM", "api_app_id": "A0APP",
            "event": inner}


def test_user_and_group_events_refresh_the_tables(migrated_db_url, tmp_path):
    users = {"U01ANN": {"tz": "Europe/Berlin"}, "U02BOB": {"tz": "Asia/Tokyo"}}
    with FakeSlack(users=users, groups={"S0TEAM": ["U01ANN"]}) as fake:
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, {})
        with app_with_people_events(settings) as (url, runtime):
            directory = runtime.service.directory
            refresh_people(make_client(settings), runtime.engine, runtime.service.clock())

            fake.users["U01ANN"]["tz"] = "America/Chicago"
            status, _, _ = event(url, envelope(1, {"type": "user_change", "user": {"id": "U01ANN", "tz": "stale"}}))
            assert status == 200
            wait_for(lambda: (directory.prepare(), directory.user_timezone("U01ANN"))[1] == "America/Chicago")

            fake.users["U03CAT"] = {"tz": "Europe/Lisbon"}
            assert event(url, envelope(2, {"type": "team_join", "user": {"id": "U03CAT"}}))[0] == 200
            wait_for(lambda: (directory.prepare(), directory.user_timezone("U03CAT"))[1] == "Europe/Lisbon")

            fake.groups["S0TEAM"] = ["U01ANN", "U03CAT"]
            assert event(url, envelope(3, {"type": "subteam_members_changed", "subteam_id": "S0TEAM",
                                           "added_users": ["U03CAT"]}))[0] == 200
            wait_for(lambda: (directory.prepare(), directory.group_members("S0TEAM"))[1] == {"U01ANN", "U03CAT"})

            fake.groups["S0NEW"] = ["U02BOB"]
            assert event(url, envelope(4, {"type": "subteam_created",
                                           "subteam": {"id": "S0NEW", "handle": "new", "date_delete": 0}}))[0] == 200
            wait_for(lambda: (directory.prepare(), directory.group_members("S0NEW"))[1] == {"U02BOB"})
            assert event(url, envelope(5, {"type": "subteam_updated",
                                           "subteam": {"id": "S0NEW", "handle": "new", "date_delete": 1}}))[0] == 200
            wait_for(lambda: (directory.prepare(), not directory.group_members("S0NEW"))[1])
    assert [c.params["user"] for c in fake.calls_to("users.info")] == ["U01ANN", "U03CAT"]
