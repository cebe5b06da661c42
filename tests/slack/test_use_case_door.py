"""What used to be decided in the Slack layer, now through the use cases: a thread reply from
someone the step does not wait on is refused politely and audited; away days follow the
service's clock (the shell's rehearsal time), not the wall clock; a reload by an admin is
audited like a refused one."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text

from bot.runtime import build_runtime
from bot.settings import Settings
from bot.store.models import AuditEvent
from bot.usecases.results import AwaySet, Back, Ignored, Refused
from tests.fakeslack import FakeSlack
from tests.polling import wait_for
from tests.slack.live import running_app, slack_settings
from tests.slack.signed import event, slash_command

WORKFLOW = """
id: review
channel: "#work"
roles: {team: [U01ANN, U02BOB]}
permissions: {start: [team]}
steps:
  - id: write
    ask: starter
    outputs: {text: text}
"""
THREAD = "1700000000.000100"


def scalar(runtime, sql: str):
    with runtime.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def reply(url: str, user: str, words: str, event_id: str, thread_ts: str = THREAD):
    return event(url, {"type": "event_callback", "event_id": event_id, "team_id": "T0FAKETEAM", "api_app_id": "A0APP",
                       "event": {"type": "message", "channel": "C0WORK", "user": user, "text": words,
                                 "ts": f"1700000001.{event_id[-4:]}", "thread_ts": thread_ts}})


def test_a_reply_from_someone_the_step_does_not_wait_on_is_refused_and_audited(migrated_db_url, tmp_path):
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, {"review.yaml": WORKFLOW})
        with running_app(settings) as (url, runtime):
            slash_command(url, "start review", user="U01ANN")
            run_id = wait_for(lambda: scalar(runtime, "select id from runs"), 5)
            with runtime.engine.begin() as conn:  # as the messenger would, once the header is posted
                conn.execute(text(f"update runs set channel = 'C0WORK', thread_ts = '{THREAD}'"))

            status, _, _ = reply(url, "U02BOB", "Here is my take", "Ev0001")
            assert status == 200
            told = wait_for(lambda: [c.params for c in fake.calls_to("chat.postEphemeral")
                                     if c.params.get("user") == "U02BOB"], 5)
            assert "Not taken" in told[0]["text"] and "not yours" in told[0]["text"]
            assert told[0]["channel"] == "C0WORK"
            refused = scalar(runtime, "select count(*) from audit_events where type = 'refused' "
                                      "and actor = 'U02BOB' and step_id = 'write'")
            assert refused == 1
            assert scalar(runtime, f"select status from runs where id = '{run_id}'") == "waiting"  # still on ann

            # Chatter in a thread that is no run's is nobody's business: no word, no audit.
            reply(url, "U02BOB", "lunch?", "Ev0002", thread_ts="1600000000.000001")
            reply(url, "U01ANN", "My draft", "Ev0003")
            wait_for(lambda: scalar(runtime, "select status from runs") == "completed", 5)
            assert scalar(runtime, "select count(*) from audit_events where type = 'refused'") == 1


def test_away_days_follow_the_service_clock(migrated_db_url, tmp_path):
    rehearsed = datetime(2031, 6, 2, 9, 0, tzinfo=UTC)  # a rehearsal's time, years from the wall clock
    runtime = build_runtime(Settings(database_url=migrated_db_url, workflows_dir=str(tmp_path)), clock=lambda: rehearsed)
    try:
        doors = runtime.usecases
        assert doors.away("U01ANN", date(2031, 6, 1), date(2031, 6, 3)) == AwaySet(date(2031, 6, 1), date(2031, 6, 3))
        assert doors.away_days("U01ANN").periods == ((date(2031, 6, 1), date(2031, 6, 3)),)
        assert runtime.service.directory.is_away("U01ANN", date(2031, 6, 2))
        assert doors.back("U01ANN") == Back(1)  # not over yet on the rehearsal's day
        assert doors.away_days("U01ANN").periods == ()
        assert isinstance(doors.away("U01ANN", date(2031, 6, 5), date(2031, 6, 4)), Refused)
        with runtime.sessions() as session:
            audited = session.execute(select(AuditEvent.type, AuditEvent.at).order_by(AuditEvent.id)).all()
        assert [row.type for row in audited] == ["away_set", "away_cleared"]
        assert all(row.at == rehearsed for row in audited)
    finally:
        runtime.close()


@pytest.mark.parametrize("admin", [True, False])
def test_reload_is_audited_either_way(migrated_db_url, tmp_path, admin):
    (tmp_path / "review.yaml").write_text(WORKFLOW)
    runtime = build_runtime(Settings(database_url=migrated_db_url, workflows_dir=str(tmp_path), admins="U0ADMIN"))
    try:
        result = runtime.usecases.reload("U0ADMIN" if admin else "U09EVE")
        assert isinstance(result, Refused) != admin
        expected = "workflows_reloaded" if admin else "refused"
        assert scalar(runtime, "select type from audit_events") == expected
    finally:
        runtime.close()


def test_a_dm_with_no_stand_up_open_is_ignored(migrated_db_url, tmp_path):
    runtime = build_runtime(Settings(database_url=migrated_db_url, workflows_dir=str(tmp_path)))
    try:
        assert runtime.usecases.reply_by_dm("U01ANN", "hello", key="event:Ev9") == Ignored()
    finally:
        runtime.close()
