"""`conductor serve` and `conductor clock` as real processes with `LOG_FORMAT=json`: a run's
command automation fails with a secret in its output on the process's clock, then `/metrics`
and the process's log lines are read from outside."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

from bot.runtime import build_runtime
from bot.settings import Settings
from tests.fakeslack import FakeSlack
from tests.observability.served import scrape, value, wait_for
from tests.slack.signed import SIGNING_SECRET, slash_command
from tests.slack.test_serve_process import free_port

SECRET = "obs-serve-secret-5c4b3a"
BOT_TOKEN = "xoxb-9999-8888-serveProcessToken"
WORKFLOW = f"""
id: nightly
channel: "#ops"
steps:
  - id: export
    run: ["{sys.executable}", "-c", "import sys; print('key', sys.argv[1], file=sys.stderr); sys.exit(3)",
          "${{{{ secrets.OBS_SERVE_SECRET }}}}"]
    retry: {{attempts: 1}}
"""


def up(process: subprocess.Popen, url: str) -> bool:
    assert process.poll() is None, "the process stopped"
    try:
        urllib.request.urlopen(url, timeout=1)
        return True
    except OSError:
        return False


def worker_warnings(output: str) -> list[dict]:
    entries = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    return [e for e in entries if e["logger"] == "conductor.worker" and e["level"] == "WARNING"]


def test_serve_logs_json_and_serves_metrics(migrated_db_url, tmp_path):
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "nightly.yaml").write_text(WORKFLOW)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with FakeSlack() as fake:
        env = {**os.environ, "DATABASE_URL": migrated_db_url, "WORKFLOWS_DIR": str(folder), "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.url, "PORT": str(port),
               "LOG_FORMAT": "json", "OBS_SERVE_SECRET": SECRET}
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: up(process, f"{base}/healthz"), timeout=20)
            assert slash_command(f"{base}/slack/events", "start nightly")[0] == 200
            escalated = wait_for(lambda: (m := scrape(base)) and value(m, "conductor_steps_escalated", workflow="nightly") == 1
                                 and m, timeout=20)
            assert value(escalated, "conductor_escalations_total", workflow="nightly") == 1
            assert value(escalated, "conductor_runs", workflow="nightly", state="waiting") == 1
            assert value(escalated, "conductor_automation_duration_seconds_count",
                         workflow="nightly", kind="command", outcome="failed") == 1
            assert value(escalated, "conductor_slack_ack_seconds_count", status="200") == 1
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert SECRET not in output and BOT_TOKEN not in output and SIGNING_SECRET not in output
    assert '"message": "serving Slack on port' in output
    failed = worker_warnings(output)
    assert len(failed) == 1 and failed[0]["step_id"] == "export" and failed[0]["run_id"]


def test_clock_serves_metrics_on_its_own_port(migrated_db_url, tmp_path):
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "nightly.yaml").write_text(WORKFLOW)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": migrated_db_url, "WORKFLOWS_DIR": str(folder), "LOG_FORMAT": "json",
           "METRICS_PORT": str(port), "OBS_SERVE_SECRET": SECRET}
    env.pop("SLACK_BOT_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "clock", "--workers", "2"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    runtime = build_runtime(Settings(database_url=migrated_db_url, workflows_dir=str(folder)))
    try:
        wait_for(lambda: up(process, f"{base}/metrics"), timeout=20)
        started = runtime.service.start("nightly", "U01ANN", {}, key="obs-clock-1", channel="C0OPS")
        escalated = wait_for(lambda: (m := scrape(base)) and value(m, "conductor_steps_escalated", workflow="nightly") == 1
                             and m, timeout=20)
        assert value(escalated, "conductor_automation_duration_seconds_count",
                     workflow="nightly", kind="command", outcome="failed") == 1
        assert value(escalated, "conductor_outbox_pending_messages") >= 1  # no Slack token: messages wait
    finally:
        runtime.close()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert SECRET not in output
    failed = worker_warnings(output)
    assert len(failed) == 1 and failed[0]["run_id"] == started.run_id and failed[0]["step_id"] == "export"
