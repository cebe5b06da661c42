"""A clock always stops: SIGTERM (or a lost lock) ends it within STOP_GRACE_SECONDS, whatever
its timer jobs and automations are doing.

APScheduler's `shutdown(wait=True)` waits for running jobs while it holds the job store's lock;
a running timer job (or an automation's outcome) that schedules the next timer waits for that
lock, and the process never ended. The first test plays that interleaving on purpose; the
last one stops a real `conductor clock` process, busy with timers and automations, again and
again (CLOCK_STOPS times, 50 by default) at moments drawn with a fixed seed.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.processes import clock as process
from bot.runtime import build_runtime
from bot.scheduling.clock import STOP_GRACE_SECONDS, Clock
from bot.settings import Settings
from tests import polling
from tests.harness import Harness
from tests.scheduling import automations

# Beyond the grace: the interpreter's exit, closing the database engine. A bound on how long
# the process takes to exit is a correctness property here, not a performance figure.
EXIT_MARGIN_SECONDS = 8.0
STOPS = int(os.environ.get("CLOCK_STOPS", "50"))
SEED = 20261203

RETRIED = """
id: retried
steps:
  - id: flaky
    uses: tests.scheduling.automations:flaky
    retry: {attempts: 3, backoff: 1s, jitter: no}
    timeout: 30s
    outputs: {tries: integer}
"""
HELD = """
id: held
steps:
  - id: hold
    uses: tests.scheduling.automations:hold
    timeout: 5m
"""


@pytest.fixture
def harness(migrated_db_url, tmp_path: Path):
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "retried.yaml").write_text(RETRIED)
    (folder / "held.yaml").write_text(HELD)
    h = Harness(migrated_db_url, [str(folder)])
    h.service.clock = lambda: datetime.now(UTC)  # real time: the scheduler is real
    h.folder = folder
    yield h
    automations.HOLD.set()  # let an abandoned automation end, so the engine can be disposed
    h.close()


def stop_in_thread(clock: Clock, **kwargs) -> tuple[threading.Thread, list[list[str]]]:
    left: list[list[str]] = []
    stopper = threading.Thread(target=lambda: left.append(clock.shutdown(**kwargs)), name="test-stop", daemon=True)
    stopper.start()
    return stopper, left


def test_a_timer_job_that_schedules_while_the_clock_stops_does_not_hang_it(harness):
    """The deadlock, on purpose: a retry timer fires (an APScheduler job), and its outcome
    reaches the clock's `observe` -> `schedule_timer` just as shutdown has taken APScheduler's
    locks. This hung forever; now the shutdown ends and the job finishes."""
    h = harness
    in_job, stopping = threading.Event(), threading.Event()

    def hold_the_job(result) -> None:
        # Subscribed before the clock: runs in the job's thread just before `Clock.observe`.
        name = threading.current_thread().name
        if name == "MainThread" or name.startswith("automation") or not result.timers or in_job.is_set():
            return
        in_job.set()
        stopping.wait(10)

    h.service.subscribe(hold_the_job)
    clock = Clock(h.service, h.versions, workflows_dir=str(h.folder), poll_seconds=0.2)
    clock.start()
    shutdown = clock.executor.shutdown

    def shutdown_executor(wait: bool = True) -> None:
        stopping.set()  # APScheduler calls this holding its job store's lock
        shutdown(wait)

    clock.executor.shutdown = shutdown_executor
    run = h.service.start("retried", None, {}, key="retried").run_id
    # Try 1 fails; its retry timer fires a second later in a job, whose outcome is a new try
    # with a new timeout timer: the job is held there.
    assert in_job.wait(15), "the retry timer never fired"
    stopper, left = stop_in_thread(clock)
    stopper.join(STOP_GRACE_SECONDS + EXIT_MARGIN_SECONDS)
    assert not stopper.is_alive(), "the clock's shutdown hung"
    assert stopping.is_set()
    assert left == [[]]  # the job finished: nothing was left behind
    # The job's transaction stands: the retry fired and the new try's timeout is a row, for
    # the next clock to schedule.
    assert h.count(f"select count(*) from timers where run_id = '{run}' and kind = 'timeout' "
                   "and fired_at is null and cancelled_at is null") == 1
    assert h.state(run).steps["flaky"].tries == 2


def test_work_that_never_ends_is_left_behind_after_the_grace(harness):
    """An automation that never returns is waited for until the deadline, then named and left."""
    h = harness
    automations.HOLD.clear()
    automations.HOLDING.clear()
    clock = Clock(h.service, h.versions, workflows_dir=str(h.folder), poll_seconds=0.2)
    clock.start()
    run = h.service.start("held", None, {}, key="held").run_id
    polling.wait_for(lambda: automations.HOLDING.is_set(), 15)
    started = time.monotonic()
    stopper, left = stop_in_thread(clock, timeout=0.5)
    stopper.join(5)
    assert not stopper.is_alive()
    assert time.monotonic() - started < 5
    assert left == [[f"automation hold try 1 of run {run}"]]
    assert clock.closing.is_set() and not clock.scheduler.running


def test_nothing_reaches_the_scheduler_once_the_clock_closes(harness):
    h = harness
    clock = Clock(h.service, h.versions, workflows_dir=str(h.folder), poll_seconds=0.2)
    clock.start()
    clock.close()
    clock.schedule_timer("r", "late", datetime.now(UTC))
    clock.dispatch_soon()
    assert clock.scheduler.get_job("timer:late") is None
    assert clock.wait_idle(time.monotonic() + 5) == []


def test_a_closed_clocks_poll_claims_nothing(harness):
    """The poll is one tick (`bot.usecases.tick`); once the clock closes it takes no new work:
    an automation claimed then would have nobody to run it."""
    h = harness
    clock = Clock(h.service, h.versions, workflows_dir=str(h.folder), poll_seconds=0.2)
    h.service.start("retried", None, {}, key="closed-poll")
    clock.close()
    assert clock.poll().moved == 0
    assert h.count("select count(*) from timers where kind = 'dispatch' and fired_at is null") == 1


def test_lead_returns_within_its_grace_and_says_what_it_left(migrated_db_url, tmp_path, monkeypatch, caplog):
    """`lead` (what `conductor serve` runs in a thread) is bounded too."""
    caplog.set_level(logging.INFO, logger="conductor.clock")
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "held.yaml").write_text(HELD)
    monkeypatch.setattr(process, "STOP_GRACE_SECONDS", 0.5)
    settings = Settings(database_url=migrated_db_url, workflows_dir=str(folder))
    runtime = build_runtime(settings)
    automations.HOLD.clear()
    automations.HOLDING.clear()
    stop = threading.Event()
    status: list[int] = []
    leader = threading.Thread(target=lambda: status.append(process.lead(settings, runtime, stop)), daemon=True)
    try:
        leader.start()
        run = runtime.service.start("held", None, {}, key="held-lead").run_id
        polling.wait_for(lambda: automations.HOLDING.is_set(), 15)
        started = time.monotonic()
        stop.set()
        leader.join(5)
        assert not leader.is_alive() and status == [0]
        assert time.monotonic() - started < 5
        assert f"stopped without waiting any longer (0.5 s) for: automation hold try 1 of run {run}" in caplog.text
    finally:
        stop.set()
        automations.HOLD.set()
        leader.join(5)
        runtime.close()


def test_a_lost_lock_ends_the_clock_within_its_grace_too(migrated_db_url, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="conductor.clock")
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "held.yaml").write_text(HELD)
    monkeypatch.setattr(process, "STOP_GRACE_SECONDS", 0.5)
    monkeypatch.setattr(process, "STANDBY_POLL_SECONDS", 0.2)
    settings = Settings(database_url=migrated_db_url, workflows_dir=str(folder))
    runtime = build_runtime(settings)
    automations.HOLD.clear()
    automations.HOLDING.clear()
    lost = threading.Event()
    monkeypatch.setattr(process.Leadership, "held", lambda self: not lost.is_set())
    status: list[int] = []
    leader = threading.Thread(target=lambda: status.append(process.lead(settings, runtime, threading.Event())),
                              daemon=True)
    try:
        leader.start()
        run = runtime.service.start("held", None, {}, key="held-lost").run_id
        polling.wait_for(lambda: automations.HOLDING.is_set(), 15)
        lost.set()  # the database dropped our connection, and the lock with it
        leader.join(5)
        assert not leader.is_alive() and status == [1]
        assert "lost the clock's lock; stopping" in caplog.text
        assert f"for: automation hold try 1 of run {run}" in caplog.text
    finally:
        automations.HOLD.set()
        leader.join(5)
        runtime.close()


# --- a real process, stopped again and again ----------------------------------------------------

BUSY = """
id: busy
steps:
  - id: report
    uses: stop_automations:report
    timeout: 30s
  - id: flaky
    uses: stop_automations:flaky
    retry: {attempts: 3, backoff: 1s, jitter: no}
    timeout: 30s
  - id: nudge
    ask: starter
    remind: [1s, 2s, 3s, 4s]
    outputs: {ok: boolean}
"""
STOP_AUTOMATIONS = '''
from pathlib import Path

# Each try runs in a child process of its own: what was tried is kept in files beside this module.
FAILED = Path(__file__).resolve().parent / "failed"


def report(ctx):
    return {}


def flaky(ctx):
    """Fails the first try of each attempt (a retry timer follows), then succeeds."""
    FAILED.mkdir(exist_ok=True)
    mark = FAILED / ctx.idempotency_key.replace(":", "_")
    if not mark.exists():
        mark.touch()
        raise RuntimeError("not yet")
    return {}
'''
RUNS_PER_LIFE = 4
LEADING = "this process is the clock"


def start_clock(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "clock", "--workers", "4"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def wait_until_leading(clock: subprocess.Popen, log: Path) -> None:
    polling.wait_for(lambda: LEADING in log.read_text() or clock.poll() is not None, 30, log.read_text)


def test_a_busy_clock_process_stops_every_time(migrated_db_url, tmp_path):
    folder = tmp_path / "wf"
    (folder / "stop_automations").mkdir(parents=True)
    (folder / "stop_automations" / "__init__.py").write_text(STOP_AUTOMATIONS)
    (folder / "busy.yaml").write_text(BUSY)
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {**os.environ, "DATABASE_URL": migrated_db_url, "WORKFLOWS_DIR": str(folder)}
    for name in ("SLACK_BOT_TOKEN", "METRICS_PORT", "LOG_LEVEL", "LOG_FORMAT"):
        env.pop(name, None)
    runtime = build_runtime(Settings(database_url=migrated_db_url, workflows_dir=str(folder)))
    chance = random.Random(SEED)
    exits: list[float] = []
    slowest = (0.0, 0)
    try:
        for n in range(12):
            runtime.service.start("busy", "U01ME", {}, key=f"busy-0-{n}", channel="C0OPS")
        for life in range(1, STOPS + 1):
            for n in range(RUNS_PER_LIFE):
                runtime.service.start("busy", "U01ME", {}, key=f"busy-{life}-{n}", channel="C0OPS")
            log = logs / f"clock-{life:03d}.log"
            clock = start_clock(env, log)
            # One stop in five at any moment of the start (before the signal handler, while the
            # runtime is built, as the lock is taken); the rest while it leads, timers firing.
            if chance.random() < 0.2:
                time.sleep(chance.uniform(0.0, 1.0))
            else:
                wait_until_leading(clock, log)
                time.sleep(chance.uniform(0.0, 1.5))
            clock.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            try:
                status = clock.wait(STOP_GRACE_SECONDS + EXIT_MARGIN_SECONDS)
            except subprocess.TimeoutExpired:
                clock.kill()
                clock.wait()
                pytest.fail(f"stop {life}: the clock did not exit within "
                            f"{STOP_GRACE_SECONDS + EXIT_MARGIN_SECONDS:.0f} s of SIGTERM\n{log.read_text()}")
            exits.append(time.monotonic() - signalled)
            slowest = max(slowest, (exits[-1], life))
            output = log.read_text()
            # Killed by the signal itself only if it came before the handler was installed.
            if not (status == 0 or (status == -signal.SIGTERM and LEADING not in output)):
                pytest.fail(f"stop {life}: exit status {status}\n{output}")
            if "Traceback" in output:
                pytest.fail(f"stop {life}: a traceback\n{output}")
            if "stopped without waiting" in output:
                pytest.fail(f"stop {life}: work was left behind\n{output}")
            if LEADING in output and "the clock stopped in" not in output:
                pytest.fail(f"stop {life}: led, but did not say it stopped\n{output}")
        with runtime.engine.connect() as conn:
            reminders = conn.execute(text("select count(*) from timers where kind = 'reminder' "
                                          "and fired_at is not null")).scalar_one()
            automations_done = conn.execute(text("select count(*) from timers where kind = 'dispatch' "
                                                 "and fired_at is not null")).scalar_one()
    finally:
        runtime.close()
    print(f"\n{len(exits)} stops ({migrated_db_url.split(':')[0]}): exit after SIGTERM max {max(exits):.2f} s (stop {slowest[1]}), "
          f"mean {sum(exits) / len(exits):.2f} s; {reminders} reminders fired, {automations_done} automations run")
    assert len(exits) == STOPS
    assert reminders > 0 and automations_done > 0  # the clock was busy, not idle
