"""The clock with the real APScheduler: timers on time, retries, timeouts, escalation,
take-over, recovery after a crash, schedules across DST, one leader at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.engine import events as ev
from bot.scheduling.clock import Clock, schedule_trigger
from bot.scheduling.leader import Leadership
from tests import polling
from tests.harness import Harness
from tests.scheduling import automations

WORKFLOW = """
id: ops
roles:
  ops: [U01OPS]
permissions:
  take_over: [ops]
steps:
  - id: nudge
    ask: starter
    remind: [1s]
    outputs: {ok: boolean}
  - id: flaky
    uses: tests.scheduling.automations:flaky
    retry: {attempts: 3, backoff: 1s, jitter: no}
    outputs: {tries: integer}
  - id: forever
    run: [python, -c, "import time; time.sleep(120)"]
    timeout: 1s
    retry: {attempts: 1}
    outputs: {done: boolean}
"""

SCHEDULED = """
id: yearly
on:
  schedule:
    - cron: "0 3 1 1 *"
      timezone: Europe/Berlin
steps:
  - id: note
    uses: conductor/post
    with: {text: Happy new year}
"""

RECOVER = """
id: recover
steps:
  - id: safe
    uses: tests.scheduling.automations:ledger
    idempotent: true
  - id: unsafe
    uses: tests.scheduling.automations:ledger
"""


def wait_for(condition, timeout: float = 15.0) -> None:
    polling.wait_for(condition, timeout)


@pytest.fixture
def env(migrated_db_url, tmp_path: Path):
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "ops.yaml").write_text(WORKFLOW)
    (folder / "recover.yaml").write_text(RECOVER)
    (folder / "yearly.yaml").write_text(SCHEDULED)
    harness = Harness(migrated_db_url, [str(folder)])
    harness.service.clock = lambda: datetime.now(UTC)  # real time: the scheduler is real
    clocks: list[Clock] = []

    def make_clock(now: Callable[[], datetime] | None = None) -> Clock:
        extra = {"now": now} if now is not None else {}
        clock = Clock(harness.service, harness.versions, workflows_dir=str(folder), poll_seconds=0.2, **extra)
        clocks.append(clock)
        return clock

    harness.make_clock = make_clock
    yield harness
    for clock in clocks:
        if clock.scheduler.running:
            clock.shutdown(wait=True)
    harness.close()


def step_status(h, run_id: str, step_id: str) -> str:
    return h.state(run_id).steps[step_id].status.value


def test_reminder_retry_timeout_escalation_and_take_over(env):
    h = env
    clock = h.make_clock()
    clock.start()
    run = h.service.start("ops", "U09ME", {}, key="k").run_id
    wait_for(lambda: h.count("select count(*) from outbox where cast(payload as text) like '%reminder%'") == 1)
    assert clock.lateness and max(clock.lateness) < 1.0
    h.service.handle(run, ev.Answer("nudge", "U09ME", {"ok": True}), key="answer")
    wait_for(lambda: step_status(h, run, "forever") == "escalated")
    state = h.state(run)
    assert state.steps["flaky"].outputs == {"tries": 2} and state.steps["flaky"].tries == 2
    assert "timed out after 1s" in state.steps["forever"].error
    escalation = h.count("select count(*) from outbox where cast(payload as text) like '%\"escalation\"%'")
    assert escalation == 1
    assert h.service.handle(run, ev.TakeOver("forever", "U01OPS", {"done": True}), key="take").accepted
    assert h.state(run).status.value == "completed"


def test_restart_recovers_interrupted_automations(env):
    h = env
    run = h.service.start("recover", None, {}, key="k").run_id
    # The process that claimed the automation died before it ran.
    claimed = h.service.claim_dispatches(datetime.now(UTC))
    assert [d.request.step_id for d in claimed] == ["safe"]
    clock = h.make_clock()
    clock.start()  # a new clock finds `safe` claimed but unfinished: idempotent, so it runs again
    wait_for(lambda: step_status(h, run, "unsafe") in ("completed", "escalated"))
    assert step_status(h, run, "safe") == "completed"
    assert automations.CALLS[f"{run}:safe:1"] == [1]
    # Now `unsafe` is interrupted the same way: it is not idempotent, so a person decides.
    clock.shutdown()
    run2 = h.service.start("recover", None, {}, key="k2").run_id
    for dispatch in h.service.claim_dispatches(datetime.now(UTC)):
        h.service.handle(run2, ev.AutomationSucceeded(dispatch.request.step_id, 1, 1, {}))
    assert [d.request.step_id for d in h.service.claim_dispatches(datetime.now(UTC))] == ["unsafe"]
    h.make_clock().start()
    wait_for(lambda: step_status(h, run2, "unsafe") == "escalated")
    assert f"{run2}:unsafe:1" not in automations.CALLS
    assert "restarted" in h.state(run2).steps["unsafe"].error


def test_two_clocks_fire_each_timer_once(env):
    h = env
    runs = [h.service.start("ops", "U09ME", {}, key=f"k{n}").run_id for n in range(20)]
    first, second = h.make_clock(), h.make_clock()
    first.start()
    second.start()
    wait_for(lambda: h.count("select count(*) from timers where kind = 'reminder' and fired_at is null") == 0)
    time.sleep(0.5)
    assert h.count("select count(*) from outbox where cast(payload as text) like '%reminder%'") == len(runs)


def test_scheduled_runs_start_once_per_minute_even_with_two_clocks(env):
    h = env
    minute = datetime(2026, 3, 4, 9, 30, 12, tzinfo=UTC)  # both clocks read the same minute, whenever this runs
    first, second = h.make_clock(lambda: minute), h.make_clock(lambda: minute)
    first.start()
    assert first.scheduler.get_job("schedule:yearly:0") is not None
    # Both clocks fire the same minute: one run starts.
    assert first.start_scheduled("yearly", 0).accepted
    assert second.start_scheduled("yearly", 0).status == "duplicate"
    assert h.count("select count(*) from runs where workflow_id = 'yearly'") == 1


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        ("Europe/Berlin", datetime(2026, 3, 27, 8, 0, tzinfo=UTC), datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 3, 6, 14, 0, tzinfo=UTC), datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),
        ("Europe/Berlin", datetime(2026, 10, 23, 7, 0, tzinfo=UTC), datetime(2026, 10, 26, 8, 0, tzinfo=UTC)),
    ],
)
def test_cron_keeps_local_time_across_dst(zone, before, after):
    trigger = schedule_trigger("0 9 * * mon-fri", zone)
    fire = trigger.get_next_fire_time(None, before - timedelta(minutes=1))
    assert fire.astimezone(UTC) == before
    fire = trigger.get_next_fire_time(None, before + timedelta(minutes=1))
    assert fire.astimezone(UTC) == after  # the next working day, the same 09:00 on the wall


@pytest.mark.postgres
def test_one_leader_and_a_standby_takes_over(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's")
    leader, standby = Leadership(db_url), Leadership(db_url)
    try:
        assert leader.try_acquire()
        assert not standby.try_acquire()
        leader.release()  # the leader stops (or dies: the server drops its lock with it)
        assert standby.try_acquire() and standby.held()
    finally:
        leader.release()
        standby.release()


def test_sqlite_has_one_clock(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    first, second = Leadership(url), Leadership(url)
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_a_standby_clock_process_takes_over(migrated_db_url, tmp_path, monkeypatch, caplog):
    """`run_clock` as two 'processes' (threads with their own leadership): the second waits
    as a standby until the first stops, then leads."""
    import logging

    caplog.set_level(logging.INFO, logger="conductor.clock")
    from bot.processes.clock import run_clock
    from bot.settings import Settings

    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "ops.yaml").write_text(WORKFLOW)
    settings = Settings(database_url=migrated_db_url, workflows_dir=str(folder))
    monkeypatch.setattr("bot.processes.clock.STANDBY_POLL_SECONDS", 0.2)
    stop_a, stop_b = threading.Event(), threading.Event()
    a = threading.Thread(target=run_clock, args=(settings,), kwargs={"stop": stop_a})
    b = threading.Thread(target=run_clock, args=(settings,), kwargs={"stop": stop_b})
    a.start()
    wait_for(lambda: "this process is the clock" in caplog.text)
    b.start()
    wait_for(lambda: "standing by" in caplog.text)
    stop_a.set()
    a.join(timeout=10)
    wait_for(lambda: caplog.text.count("this process is the clock") == 2)
    stop_b.set()
    b.join(timeout=10)
    assert not a.is_alive() and not b.is_alive()
