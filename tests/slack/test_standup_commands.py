"""`/conductor standup pause|resume|skip`: leads steer a stand-up's schedule; the clock obeys."""

from __future__ import annotations

from bot.runtime import build_runtime
from bot.scheduling.clock import Clock
from bot.settings import Settings
from bot.slack.commands import run_command
from bot.slack.commands.parse import parse_command

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

    def say(text: str, user: str = "U03LEAD") -> str:
        return run_command(runtime, parse_command(text), user=user, channel="C0", key=f"k:{text}:{user}")

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
    finally:
        runtime.close()
