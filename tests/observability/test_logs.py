"""Logs: one JSON object per line (or plain text) carrying the run and step ids, and no secret
ever written, whoever logs it: an automation that logs and fails with a secret and Slack
tokens, run by the real worker on a run started through signed Slack requests."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.scheduling.worker import AutomationWorker
from bot.settings import Settings
from tests.fakeslack import FakeSlack
from tests.observability.served import app_with_metrics, captured_logs, scrape, value, wait_for
from tests.slack.signed import SIGNING_SECRET, slash_command

# The process remembers every secret it meets, so each test gets values of its own (derived
# from its name: deterministic) to prove its own path masks them.
SECRET_SHAPES = {
    "OBS_API_TOKEN": "s3cret-{}",
    "OBS_BOT_TOKEN": "xoxb-1111-2222-{}",
    "OBS_STRAY": "xapp-1-A0-4444-{}",  # a token this process was never given
}
WORKFLOW = """
id: leaky
channel: "#ops"
escalation_channel: "#ops"
steps:
  - id: call
    uses: obs_automations.leaky:call
    with: {token: "${{ secrets.OBS_API_TOKEN }}"}
    retry: {attempts: 1}
"""
AUTOMATION = '''
import logging
import os


def call(ctx):
    token = ctx.params["token"]
    ctx.logger.warning("calling the API with %s", token)
    logging.getLogger("obs.leaky").info("environment: bot=%s signing=%s stray=%s", os.environ["OBS_BOT_TOKEN"],
                                        os.environ["OBS_SIGNING"], os.environ["OBS_STRAY"],
                                        extra={"request": {"headers": {"Authorization": "Bearer " + token}}})
    try:
        raise ValueError("the API said no to " + token)
    except ValueError:
        logging.getLogger("obs.leaky").exception("failed with %s", os.environ["OBS_BOT_TOKEN"])
    raise RuntimeError(f"401 Unauthorized for token {token}")
'''


@pytest.fixture
def leaky(migrated_db_url, tmp_path, monkeypatch, request):
    """Settings and secrets; the workflow file itself is written by the test."""
    folder = tmp_path / "wf"
    (folder / "obs_automations").mkdir(parents=True)
    (folder / "obs_automations" / "__init__.py").write_text("")
    (folder / "obs_automations" / "leaky.py").write_text(AUTOMATION)
    tag = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    # The signing secret is the one the signed requests use; the settings make it known.
    secrets = {"OBS_SIGNING": SIGNING_SECRET, **{name: shape.format(tag) for name, shape in SECRET_SHAPES.items()}}
    for name, secret in secrets.items():
        monkeypatch.setenv(name, secret)
    with FakeSlack() as fake:
        yield Settings(database_url=migrated_db_url, workflows_dir=str(folder), slack_bot_token=secrets["OBS_BOT_TOKEN"],
                       slack_signing_secret=secrets["OBS_SIGNING"], slack_api_url=fake.url), secrets


def run_the_automation(settings: Settings) -> tuple[str, dict, dict]:
    """Start a run by slash command and run its automation with the clock's worker; returns the
    run id and the scrapes before and after."""
    with app_with_metrics(settings) as (url, base, runtime):
        before = scrape(base)
        assert slash_command(url, "start leaky")[0] == 200
        run_id = wait_for(lambda: runtime.service.claim_dispatches(datetime.now(UTC)) or None)
        worker = AutomationWorker(runtime.service, runtime.versions, settings.workflows_dir, max_workers=1)
        try:
            for dispatch in run_id:
                worker.run(dispatch)
        finally:
            worker.shutdown()
        after = scrape(base)
        return run_id[0].run_id, before, after


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_secrets_and_tokens_never_reach_the_log(leaky, log_format):
    settings, secrets = leaky
    settings = settings.model_copy(update={"log_format": log_format})
    with captured_logs(settings) as buffer:
        # The workflow arrives after logging is set up (as an admin's edit would): its secret
        # becomes known when the automation that uses it runs.
        (Path(settings.workflows_dir) / "leaky.yaml").write_text(WORKFLOW)
        logging.getLogger("conductor.test").info("settings %s", repr(settings.slack_bot_token.get_secret_value()))
        run_id, before, after = run_the_automation(settings)
    output = buffer.getvalue()
    assert output.count("\n") >= 5, output  # the automation's lines, the worker's, the test's
    for secret in secrets.values():
        assert secret not in output
    assert "calling the API with ***" in output and "401 Unauthorized for token ***" in output
    assert "xapp-***" in output
    assert "ValueError: the API said no to ***" in output  # the exception text, masked too

    # The failed try escalated the step: the database figures and the worker's histogram say so.
    assert value(after, "conductor_steps_escalated", workflow="leaky") == 1
    assert value(after, "conductor_escalations_total", workflow="leaky") == 1
    assert value(after, "conductor_runs", workflow="leaky", state="waiting") == 1
    timed = "conductor_automation_duration_seconds_count"
    labels = {"workflow": "leaky", "kind": "python", "outcome": "failed"}
    assert value(after, timed, **labels) == value(before, timed, **labels) + 1

    worker_lines = [line for line in output.splitlines() if "automation call try 1 failed" in line]
    assert len(worker_lines) == 1
    if log_format == "text":
        assert worker_lines[0].endswith(f"[run={run_id} step=call]")
        return
    entries = [json.loads(line) for line in output.splitlines()]  # every line is one JSON object
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])
    failed = json.loads(worker_lines[0])
    assert (failed["level"], failed["logger"]) == ("WARNING", "conductor.worker")
    assert (failed["run_id"], failed["step_id"]) == (run_id, "call")
    assert failed["try_number"] == 1 and failed["retryable"] is True
    leaked = next(e for e in entries if e["message"].startswith("environment:"))
    assert leaked["request"] == {"headers": {"Authorization": "Bearer ***"}}  # extra fields masked, still data
    caught = next(e for e in entries if e["message"].startswith("failed with"))
    assert caught["level"] == "ERROR" and "Traceback" in caught["exception"] and "***" in caught["exception"]
