"""The clock: fires timers on time, starts scheduled runs, and runs automations.

The database holds every timer; the clock is rebuilt from it at start. Three kinds of job:

- one date job per timer due within the look-ahead horizon (job id `timer:<key>`), so a
  reminder or a retry fires on the dot; the slow sweep (every 30 s) adds those coming due;
- a fast poll (every second): one tick (`bot.usecases.tick`, the same the shell's rehearsal
  runs) that fires any due timer nobody fired yet (one written by another process, or missed),
  starts the runs other runs asked for and claims automations waiting to be run;
- one cron job per `on.schedule` trigger (job id `schedule:<workflow>:<n>`), in the trigger's
  time zone. Misfires: a run whose time passed while the clock was down starts late if it is
  less than 10 minutes late, and is skipped otherwise (coalesced: one run, not a burst).

Every firing is applied through the service with a key, so two clocks, or a date job and the
poll, firing the same timer apply it once.

Stopping never waits on APScheduler: `close` refuses new work at once (nothing calls into the
scheduler any more, see `closing`) and stops the scheduler without waiting for its jobs, then
`wait_idle` waits for the timer jobs and automations already running, up to a deadline, and
names what it leaves behind. Whatever is left is safe to lose with the process: timers are
rows, and the next clock recovers an automation that was running.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.engine.schedules import take_scheduled_turn
from bot.engine.service import ConductorService, Result
from bot.engine.versions import WorkflowVersions
from bot.scheduling import jobs
from bot.scheduling.scheduler import ClockScheduler, JobExecutor
from bot.scheduling.worker import AutomationWorker
from bot.usecases.tick import Ticker, TickReport

log = logging.getLogger("conductor.clock")

SCHEDULE_MISFIRE_GRACE = 600  # seconds a scheduled run may start late
HORIZON = timedelta(minutes=10)
LATENESS_KEPT = 100_000
# How long a stopping clock waits for the work it is doing (timer jobs, automations, the
# messenger) before the process exits without it. Below the 30 s most supervisors give
# between SIGTERM and SIGKILL.
STOP_GRACE_SECONDS = 12.0
SCHEDULER_STOP_SECONDS = 1.0  # the least time given to APScheduler's loop thread to end
JOB_THREADS = 10  # APScheduler's default for its thread pool


def schedule_trigger(cron: str, zone: str) -> CronTrigger:
    """The APScheduler trigger of an `on.schedule` entry, in its own time zone (DST-aware)."""
    return CronTrigger.from_crontab(cron, timezone=ZoneInfo(zone))


class Clock:
    def __init__(
        self,
        service: ConductorService,
        versions: WorkflowVersions,
        *,
        workflows_dir: str,
        max_workers: int = 8,
        poll_seconds: float = 1.0,
        sweep_seconds: float = 30.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.service = service
        self.versions = versions
        self.poll_seconds = poll_seconds
        self.sweep_seconds = sweep_seconds
        self.now = now
        self.executor = JobExecutor(JOB_THREADS)
        self.scheduler = ClockScheduler(
            timezone=UTC, executors={"default": self.executor},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.worker = AutomationWorker(service, versions, workflows_dir, max_workers=max_workers, after=self.dispatch_soon)
        self.workflows_dir = workflows_dir
        self._due: dict[str, datetime] = {}
        self._lock = threading.Lock()
        # Seconds late of the timers fired here, for measurement: the newest only, so a clock
        # that runs for months does not keep one number per timer it ever fired.
        self.lateness: deque[float] = deque(maxlen=LATENESS_KEPT)
        # Set first thing when stopping: from then on nothing here calls into the scheduler or
        # hands out new work (a job added while APScheduler shuts down waits for its lock).
        self.closing = threading.Event()
        # No deliverer: the messenger delivers the outbox on a thread of its own, at Slack's
        # pace (see `Ticker` and `bot.processes.clock.start_messenger`).
        self.ticker = Ticker(service, run=self.worker.submit, closing=self.closing.is_set, fired=self._fired)
        service.subscribe(self.observe)

    # --- life ----------------------------------------------------------------------------------
    def start(self) -> None:
        jobs.install(self)
        # Recover before the scheduler runs: until then nothing in this process claims an
        # automation (`dispatch_soon` waits for it), so a step found running was left by a
        # dead clock, never one that a Slack event started here a moment ago.
        for result in self.service.recover_interrupted(self.now()):
            log.info("recovered interrupted automation in run %s: %s", result.run_id, result.status)
        self.scheduler.start()
        self.schedule_workflows()
        self.sweep()
        self.scheduler.add_job(jobs.poll, IntervalTrigger(seconds=self.poll_seconds), id="conductor:poll", replace_existing=True)
        self.scheduler.add_job(jobs.sweep, IntervalTrigger(seconds=self.sweep_seconds), id="conductor:sweep", replace_existing=True)
        self.dispatch_soon()

    def shutdown(self, wait: bool = True, *, timeout: float = STOP_GRACE_SECONDS) -> list[str]:
        """Stop: refuse new work, then wait for the work running (at most `timeout` seconds;
        not at all without `wait`). Returns what was left running (empty: a clean stop)."""
        deadline = time.monotonic() + (timeout if wait else 0.0)
        self.close(deadline)
        return self.wait_idle(deadline)

    def close(self, deadline: float | None = None) -> None:
        """Refuse new work and stop the scheduler, without waiting for running jobs. Waits
        for the scheduler's own thread until `deadline` (a `time.monotonic()` value; default
        STOP_GRACE_SECONDS from now), but at least a moment."""
        self.closing.set()
        # Jobs not started yet are dropped now (their timers are rows), before APScheduler
        # takes its locks: whatever happens there, no job starts any more.
        self.executor.pool.close(cancel_pending=True)
        if not self.scheduler.running:
            return
        if deadline is None:
            deadline = time.monotonic() + STOP_GRACE_SECONDS
        # wait=False: with wait=True APScheduler waits for the running jobs while it holds the
        # job store's lock, which a running job may be waiting for. Then its shutdown only
        # joins its loop thread, which takes no time; in a thread of its own all the same, so
        # that nothing here waits without a bound.
        stopper = threading.Thread(target=self._stop_scheduler, name="clock-stop", daemon=True)
        stopper.start()
        stopper.join(max(deadline - time.monotonic(), SCHEDULER_STOP_SECONDS))
        if stopper.is_alive():
            log.warning("the scheduler's thread did not stop in time; leaving it")

    def _stop_scheduler(self) -> None:
        try:
            self.scheduler.shutdown(wait=False)
        except Exception:  # stopping goes on; the process is about to exit
            log.exception("the scheduler did not shut down cleanly")

    def wait_idle(self, deadline: float) -> list[str]:
        """After `close`: wait until the timer jobs and automations running have finished, or
        the deadline (a `time.monotonic()` value) has passed; then drop the automations not
        started yet. Returns what is left running, and what was dropped."""
        self.executor.pool.join(deadline - time.monotonic())
        # A timer job may hand the worker an automation it claimed until its last moment, so
        # the worker is waited for second, and closed only then.
        self.worker.join(deadline - time.monotonic())
        dropped = self.worker.pool.close(cancel_pending=True)
        jobs.install(None)
        return self.executor.pool.busy() + self.worker.pool.busy() + dropped

    # --- timers --------------------------------------------------------------------------------
    def schedule_timer(self, run_id: str, key: str, due_at: datetime) -> None:
        if self.closing.is_set():
            return  # stopping: the timer is a row; the next clock schedules it
        with self._lock:
            if key in self._due:
                return
            self._due[key] = due_at
        self.scheduler.add_job(
            jobs.fire_timer, DateTrigger(run_date=due_at), args=[run_id, key], id=f"timer:{key}",
            replace_existing=True, misfire_grace_time=None,
        )

    def sweep(self) -> None:
        """Schedule every live timer due within the horizon (and so any overdue one at once)."""
        for run_id, key, due_at in self.service.upcoming_timers(self.now() + HORIZON):
            if self.closing.is_set():
                return
            self.schedule_timer(run_id, key, due_at)

    def fire(self, run_id: str, key: str) -> None:
        """A timer's date job: fire it on the dot (the poll fires it too if this is missed)."""
        if self.closing.is_set():
            return
        self._fired(key, None, self.service.fire_timer(run_id, key, self.now()))

    def _fired(self, key: str, due_at: datetime | None, result: Result) -> None:
        """After a timer was fired, by its date job or by the poll: forget its date job (the
        bookkeeping of a long-lived clock must not grow with every timer it ever scheduled),
        and note how late it was."""
        with self._lock:
            due_at = self._due.pop(key, due_at)
        if result.accepted and due_at is not None:
            # Lateness as people feel it: from due to applied and committed.
            self.lateness.append((self.now() - due_at).total_seconds())

    def observe(self, result: Result) -> None:
        """After any accepted event in this process: schedule its new timers, run its automations."""
        if self.closing.is_set():
            return  # the rows are written; the next clock picks them up
        horizon = self.now() + HORIZON
        for key, due_at in result.timers:
            if due_at <= horizon and result.run_id is not None:
                self.schedule_timer(result.run_id, key, due_at)
        if result.automations:
            self.dispatch_soon()

    # --- automations ---------------------------------------------------------------------------
    def dispatch_soon(self) -> None:
        """Claim waiting automations now, on a worker thread (never the caller's). (Not a
        one-off scheduler job: replacing one while it runs can break APScheduler's loop.)"""
        if self.closing.is_set() or not self.scheduler.running:
            return
        with contextlib.suppress(RuntimeError):  # closed meanwhile
            self.worker.pool.submit(self.dispatch)

    def dispatch(self) -> None:
        """Claim the automations due and queue them on the worker (nothing once closing)."""
        self.ticker.claim(self.now())

    def poll(self) -> TickReport:
        """The poll job: one tick at the clock's now (nothing new once closing), then the
        shadow runs due, on the automations' pool."""
        report = self.ticker.tick(self.now())
        if not self.closing.is_set():
            self.run_shadows()
        return report

    def run_shadows(self) -> int:
        from bot.shadow.worker import run_due_shadows

        try:
            return run_due_shadows(self.service, self.versions, self.workflows_dir, self.now(), self.worker.pool.submit)
        except RuntimeError:  # the pool closed meanwhile: the claimed rows come back after their lease
            return 0

    # --- scheduled runs ------------------------------------------------------------------------
    def schedule_workflows(self) -> None:
        """One cron job per `on.schedule` entry of each current workflow; stale ones removed."""
        wanted: set[str] = set()
        for workflow_id in self.versions.workflow_ids():
            workflow = self.versions.current(workflow_id).workflow
            for index, entry in enumerate(workflow.on.schedule):
                job_id = f"schedule:{workflow_id}:{index}"
                wanted.add(job_id)
                self.scheduler.add_job(
                    jobs.start_scheduled_run, schedule_trigger(entry.cron, entry.timezone or workflow.timezone),
                    args=[workflow_id, index], id=job_id, replace_existing=True,
                    misfire_grace_time=SCHEDULE_MISFIRE_GRACE, coalesce=True,
                )
        for job in self.scheduler.get_jobs():
            if job.id.startswith("schedule:") and job.id not in wanted:
                job.remove()

    def start_scheduled(self, workflow_id: str, index: int) -> Result | None:
        return start_scheduled_run(self.service, self.versions, workflow_id, index, self.now())


def start_scheduled_run(service: ConductorService, versions: WorkflowVersions, workflow_id: str, index: int,
                        now: datetime) -> Result | None:
    """Start the run an `on.schedule` entry asks for at `now`, unless a lead paused the
    schedule or asked to skip this one (then None)."""
    entry = versions.current(workflow_id).workflow.on.schedule[index]
    held = take_scheduled_turn(service.engine, workflow_id)
    if held is not None:
        log.info("scheduled run of %s not started: %s", workflow_id, held)
        return None
    # Cron fires at most once a minute: the minute names the run, so two clocks start one.
    minute = now.replace(second=0, microsecond=0).isoformat()
    result = service.start(workflow_id, None, dict(entry.with_), key=f"schedule:{workflow_id}:{index}:{minute}")
    log.info("scheduled run of %s: %s", workflow_id, result.status)
    return result
