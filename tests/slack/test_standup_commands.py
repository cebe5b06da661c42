"""`/conductor standup pause|resume|skip`: leads steer a stand-up's schedule; the clock obeys."""

from __future__ import annotations

from sqlalchemy import text as sql

from bot.runtime import build_runtime
from bot.scheduling.clock import Clock
from bot.settings import Settings
from bot.slack.commands import answer
from bot.slack.commands.parse import parse_command
from bot.slack.commands.payload import Typed

STANDUP = """
id: team-standup
roles: {team: [U01ANN, U02BOB], lead: [U03LEAD]}
conductor: lead
permissions: {start: [lead], cancel: [lead]}
on:
  schedule: [{cron: "0 5 * * mon-fri"}]
steps:
  - id: standup
    participants: [team]
    questions: [{id: done, text: Done?}]
    window: {opens: "09:00", closes: "11:00"}
"""


def test_leads_pause_skip_and_resume(migrated_db_url, tmp_path):
    (tmp_path / "standup.yaml").write_text(STANDUP)
    runtime = build_runtime(Settings(database_url=migrated_db_url, workflows_dir=str(tmp_path)))
    clock = Clock(runtime.service, runtime.versions, workflows_dir=str(tmp_path))

    doors = runtime.usecases

    def say(text: str, user: str = "U03LEAD") -> str:
        return answer(Typed(user, "C0", f"t:{text}:{user}", text), parse_command(text), doors, key=f"k:{text}:{user}")

    try:
        assert "Only the leads" in say("standup pause", user="U01ANN")
        assert "is paused" in say("standup pause")
        assert clock.start_scheduled("team-standup", 0) is None
        assert "runs on schedule again" in say("standup resume")
        assert "will be skipped" in say("standup skip")
        assert clock.start_scheduled("team-standup", 0) is None  # the skipped one
        assert clock.start_scheduled("team-standup", 0).accepted  # and the next runs
        assert "Use `/conductor standup" in say("standup")
        assert "has no schedule" in say("standup pause nosuch")
        with runtime.engine.connect() as conn:  # accepted and refused steering, both audited
            audited = conn.execute(sql("select type, actor from audit_events where run_id is null order by id")).all()
        assert [tuple(row) for row in audited] == [
            ("refused", "U01ANN"), ("standup_pause", "U03LEAD"), ("standup_resume", "U03LEAD"),
            ("standup_skip", "U03LEAD")]
    finally:
        runtime.close()
