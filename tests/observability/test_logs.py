"""Logs: one JSON object per line (or plain text) carrying the run and step ids, and no secret
ever written, whoever logs it: an automation that logs and fails with a secret and Slack
tokens, run by the real worker on a run started through signed Slack requests. And one line
per meaningful thing: a run started, finished, a step escalated; an idle clock says next to
nothing, and the libraries' chatter comes back only at LOG_LEVEL=debug."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.engine import events as ev
from bot.observability.logs import QUIET_LIBRARIES, ConductorHandler, configure_logging
from bot.runtime import build_runtime
from bot.scheduling.worker import AutomationWorker
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.messenger import Messenger
from bot.store.migrate import upgrade
from tests.fakeslack import FakeSlack
from tests.observability.served import app_with_metrics, captured_logs, scrape, value, wait_for
from tests.slack.signed import SIGNING_SECRET, slash_command

# The process remembers every secret it meets, so each test gets values of its own (derived
# from its name: deterministic) to prove its own path masks them.
IDLE_SECONDS = 10
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


# --- one line per meaningful thing --------------------------------------------------------------

MILESTONES = """
id: milestones
roles:
  lead: [U01LEAD]
permissions:
  cancel: [lead]
  take_over: [lead]
steps:
  - id: answer
    ask: starter
    outputs: {ok: boolean}
  - id: call
    uses: obs_milestones:call
    retry: {attempts: 1}
"""
MILESTONE_AUTOMATION = '''
def call(ctx):
    raise RuntimeError("the service said no")
'''


@pytest.fixture(autouse=True)
def library_levels_restored():
    """`configure_logging` sets the libraries' levels; put them back for the tests after."""
    saved = {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def runs_lines(output: str, run_id: str) -> list[str]:
    """The `conductor.runs` lines about one run, without time stamps."""
    return [line.split(" conductor.runs INFO ", 1)[1] for line in output.splitlines()
            if " conductor.runs INFO " in line and f"[run={run_id}" in line]


def test_runs_started_finished_and_escalated_write_one_line_each(migrated_db_url, tmp_path):
    folder = tmp_path / "wf"
    (folder / "obs_milestones").mkdir(parents=True)
    (folder / "obs_milestones" / "__init__.py").write_text(MILESTONE_AUTOMATION)
    (folder / "milestones.yaml").write_text(MILESTONES)
    settings = Settings(database_url=migrated_db_url, workflows_dir=str(folder))
    runtime = build_runtime(settings)
    service = runtime.service
    worker = AutomationWorker(service, runtime.versions, str(folder), max_workers=1)
    try:
        with captured_logs(settings) as buffer:
            first = service.start("milestones", "U01ME", {}, key="m-1", channel="C0OPS").run_id
            assert service.start("milestones", "U01ME", {}, key="m-1").status == "duplicate"  # no second line
            assert service.handle(first, ev.Answer("answer", "U01ME", {"ok": True}), key="m-1-a").accepted
            for dispatch in service.claim_dispatches(datetime.now(UTC)):
                worker.run(dispatch)  # fails: no retry, so the step is escalated to people
            assert service.handle(first, ev.TakeOver("call", "U01LEAD", {}), key="m-1-t").accepted
            second = service.start("milestones", "U01ME", {}, key="m-2", channel="C0OPS").run_id
            assert service.handle(second, ev.Cancel("U01LEAD", "not needed"), key="m-2-c").accepted
            assert service.handle(second, ev.Cancel("U01LEAD"), key="m-2-c").status == "duplicate"
    finally:
        worker.shutdown()
        runtime.close()
    output = buffer.getvalue()
    assert runs_lines(output, first) == [
        f"run {first} of milestones started by U01ME [run={first}]",
        f"step call of run {first} escalated: RuntimeError: the service said no [run={first} step=call]",
        f"run {first} of milestones completed [run={first}]",
    ], output
    assert runs_lines(output, second) == [
        f"run {second} of milestones started by U01ME [run={second}]",
        f"run {second} of milestones cancelled: not needed [run={second}]",
    ], output
    assert "apscheduler" not in output


def test_log_level_sets_the_root_and_keeps_libraries_quiet_unless_debug():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.level
    try:
        configure_logging(Settings(workflows_dir="/nonexistent"), stream=stream)
        assert root.level == logging.INFO
        for name in ("apscheduler", "apscheduler.executors.default", "slack_sdk.web.base_client", "waitress"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
        logging.getLogger("apscheduler.executors.default").info('Running job "poll"')
        bolt = logging.getLogger("slack_bolt.App")
        bolt_level = bolt.level
        bolt.setLevel(logging.INFO)  # as Bolt does, copying the root's level when an app is built
        try:
            bolt.info("Invalid request signature detected")
            bolt.warning("As you gave `client` as well, `token` will be unused.")
        finally:
            bolt.setLevel(bolt_level)
        logging.getLogger("conductor.test").info("a meaningful thing")
        configure_logging(Settings(workflows_dir="/nonexistent", log_level="debug"), stream=stream)
        assert root.level == logging.DEBUG
        logging.getLogger("apscheduler.executors.default").debug("Looking for jobs to run")
        configure_logging(Settings(workflows_dir="/nonexistent", log_level="WARNING"), stream=stream)
        assert root.level == logging.WARNING
        assert logging.getLogger("apscheduler").getEffectiveLevel() == logging.WARNING
    finally:
        for handler in [h for h in root.handlers if isinstance(h, ConductorHandler)]:
            root.removeHandler(handler)
        root.setLevel(saved)
    lines = stream.getvalue().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "slack_bolt.App WARNING As you gave `client` as well, `token` will be unused.",
        "conductor.test INFO a meaningful thing",
        "apscheduler.executors.default DEBUG Looking for jobs to run",
    ]


def test_an_unknown_log_level_is_refused_by_name():
    settings = Settings(workflows_dir="/nonexistent").model_copy(update={"log_level": "loud"})
    with pytest.raises(ValueError, match=r"LOG_LEVEL must be one of debug, info, warning, error, not 'loud'"):
        configure_logging(settings, stream=io.StringIO())


def clock_process(database_url: str, folder: Path, log: Path, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "DATABASE_URL": database_url, "WORKFLOWS_DIR": str(folder), **env}
    for name in ("SLACK_BOT_TOKEN", "METRICS_PORT", "LOG_FORMAT", *(() if "LOG_LEVEL" in env else ("LOG_LEVEL",))):
        environment.pop(name, None)
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "clock", "--workers", "2"], env=environment,
                                stdout=out, stderr=subprocess.STDOUT)


def test_an_idle_clock_writes_a_handful_of_lines_and_no_scheduler_chatter(migrated_db_url, tmp_path):
    """An idle clock (what `conductor serve` runs too) for IDLE_SECONDS: its poll runs every
    second, and APScheduler used to write two lines each time. At LOG_LEVEL=debug they are back
    (a second clock on a database of its own, side by side)."""
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "milestones.yaml").write_text(MILESTONES.replace("obs_milestones:call", "conductor/post")
                                            .replace("retry: {attempts: 1}", "with: {text: hello}"))
    chatty_db = f"sqlite:///{tmp_path / 'chatty.db'}"
    upgrade(chatty_db)
    quiet_log, chatty_log = tmp_path / "quiet.log", tmp_path / "chatty.log"
    quiet = clock_process(migrated_db_url, folder, quiet_log)
    chatty = clock_process(chatty_db, folder, chatty_log, LOG_LEVEL="debug")
    try:
        time.sleep(IDLE_SECONDS)
    finally:
        for process in (quiet, chatty):
            process.send_signal(signal.SIGTERM)
        statuses = [process.wait(30) for process in (quiet, chatty)]
    assert statuses == [0, 0], (quiet_log.read_text(), chatty_log.read_text())
    lines = quiet_log.read_text().splitlines()
    assert not [line for line in lines if "apscheduler" in line], lines
    assert [line.split(" ", 2)[2] for line in lines[:2]] == [
        "conductor.clock INFO this process is the clock",
        "conductor.clock INFO no SLACK_BOT_TOKEN: messages stay in the outbox",
    ], lines
    assert " conductor.clock INFO the clock stopped in " in lines[-1]
    assert len(lines) == 3, lines  # nothing else happened, so nothing else was written
    chatter = chatty_log.read_text()
    # About one poll a second of the chatty clock's own life (which a loaded machine shortens).
    stamps = [datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f") for line in chatter.splitlines() if line[:4].isdigit()]
    lived = (stamps[-1] - stamps[0]).total_seconds()
    assert chatter.count('apscheduler.executors.default INFO Running job "poll') >= lived - 2 > 0, chatter


def test_a_message_slack_refuses_writes_one_line(migrated_db_url, tmp_path):
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "milestones.yaml").write_text(MILESTONES)
    settings = Settings(database_url=migrated_db_url, workflows_dir=str(folder))
    runtime = build_runtime(settings)
    try:
        with FakeSlack() as fake, captured_logs(settings) as buffer:
            client = make_client(Settings(slack_bot_token="xoxb-test", slack_api_url=fake.url))
            messenger = Messenger(runtime.engine, client, runtime.versions,
                                  render=lambda payload, context: {"text": payload["kind"]})
            run = runtime.service.start("milestones", "U01ME", {}, key="refused", channel="C0GONE").run_id
            fake.fail_next("chat.postMessage", times=1, status=200, error="channel_not_found")

            def refused_once() -> bool:
                messenger.deliver_due()
                with runtime.engine.connect() as conn:
                    return conn.execute(text("select count(*) from outbox where status = 'failed'")).scalar_one() == 1

            wait_for(refused_once)
            for _ in range(3):
                messenger.deliver_due()  # nothing more to say about it
    finally:
        runtime.close()
    refused = [line for line in buffer.getvalue().splitlines() if "Slack refused" in line]
    assert len(refused) == 1, buffer.getvalue()
    assert refused[0].endswith(f"conductor.messenger WARNING Slack refused outbox message 1 (run_started to C0GONE): "
                               f"channel_not_found; not sent [run={run}]")
