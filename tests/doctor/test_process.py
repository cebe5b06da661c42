"""`conductor doctor` as operators run it: a process reading its settings from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.scheduling.leader import Leadership
from tests.doctor.stage import SECRETS, workspace, write_workflows

SETTINGS = ("SLACK_", "DATABASE_URL", "WORKFLOWS_DIR", "ESCALATION_CHANNEL", "ADMINS", "CMS_TOKEN")


def run(folder: Path, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS)}
    env.update(environment)
    return subprocess.run([sys.executable, "-m", "bot.cli", "doctor"], check=False, cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


def test_conductor_doctor_exits_0_when_healthy_and_1_with_problems(migrated_db_url: str, tmp_path: Path):
    write_workflows(tmp_path / "workflows")
    leadership = Leadership(migrated_db_url)
    assert leadership.try_acquire()
    try:
        with workspace() as slack:
            environment = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "signing-secret",
                           "SLACK_API_URL": slack.url, "DATABASE_URL": migrated_db_url,
                           "WORKFLOWS_DIR": "workflows", **SECRETS}
            healthy = run(tmp_path, environment)
        with workspace(lacking=["#content-ops", "im:write", "S01WRITERS"]) as slack:
            sick = run(tmp_path, {**environment, "SLACK_API_URL": slack.url, "CMS_TOKEN": ""})
    finally:
        leadership.release()
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert healthy.stderr == ""
    assert healthy.stdout.splitlines()[0] == "ok    workflows: 2 files in workflows loaded: blog, daily"
    assert not [line for line in healthy.stdout.splitlines() if not line.startswith(("ok    ", "note  "))]
    assert sick.returncode == 1 and sick.stderr == ""
    failures = [line.split(":")[0] for line in sick.stdout.splitlines() if line.startswith("FAIL")]
    assert failures == ["FAIL  scope im", "FAIL  channel #content-ops", "FAIL  user group S01WRITERS",
                        "FAIL  secret CMS_TOKEN"]
    assert "workflows/blog.yaml:4" in sick.stdout and SECRETS["CMS_TOKEN"] not in sick.stdout
