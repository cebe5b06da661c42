"""APScheduler, made to stop without waiting: the executor and the scheduler the clock uses.

APScheduler's `shutdown(wait=True)` waits for the running jobs while it holds the job store's
lock, and a running job that adds a job (a timer firing that sets the next timer, an
automation's outcome) waits for that lock: neither ever ends. The clock therefore shuts the
scheduler down with `wait=False` and waits for the running jobs itself, with a deadline,
through `JobExecutor.pool` (a `WorkPool`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler

from bot.scheduling.pool import WorkPool, name_of


def _job_label(fn: Callable[..., Any], args: tuple[Any, ...]) -> str:
    # APScheduler submits run_job(job, jobstore_alias, run_times, logger_name).
    job = args[0] if args else None
    return f"job {job.id}" if isinstance(job, Job) else name_of(fn, args)


class JobExecutor(BaseExecutor):
    """APScheduler's thread-pool executor (`apscheduler.executors.pool`), on a `WorkPool`
    whose running jobs can be waited for with a deadline. Shutting down drops the jobs not
    started yet (their timers are rows; the next clock fires them), and a due job handed over
    by the scheduler's last pass is dropped quietly."""

    def __init__(self, max_workers: int = 10):
        super().__init__()
        self.pool = WorkPool(max_workers, "clock-job", describe=_job_label)

    def _do_submit_job(self, job: Job, run_times: list[Any]) -> None:
        def done(future: Future[Any]) -> None:
            if future.cancelled():  # dropped by shutdown before it started: nothing to report
                self._run_job_success(job.id, [])
                return
            error = future.exception()
            if error is not None:
                self._run_job_error(job.id, error, error.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        try:
            future = self.pool.submit(run_job, job, job._jobstore_alias, run_times, self._logger.name)
        except RuntimeError:
            if self.pool.closed:
                return  # stopping: the job's timer is a row, the next clock fires it
            raise
        future.add_done_callback(done)

    def shutdown(self, wait: bool = True) -> None:
        self.pool.close(cancel_pending=True)
        if wait:
            self.pool.join(None)


class ClockScheduler(BackgroundScheduler):
    """A BackgroundScheduler whose stop never meets a pass of its loop half done.

    APScheduler sets its state to stopped before it takes the job store's lock; a pass of its
    loop under way then looks among the pending jobs for the date job it has just run, and its
    thread dies of JobLookupError. Here the state changes under that lock, and a pass that
    starts after the stop does nothing.
    """

    def _process_jobs(self) -> float | None:
        with self._jobstores_lock:
            if self.state == STATE_STOPPED:
                return None
            return super()._process_jobs()  # type: ignore[no-any-return]

    def shutdown(self, wait: bool = True) -> None:
        # BackgroundScheduler.shutdown, with the lock around BaseScheduler's part only: its
        # loop thread, joined after, may be waiting for the lock to see the stop.
        with self._jobstores_lock:
            BaseScheduler.shutdown(self, wait)
        self._event.set()
        self._thread.join()
        del self._thread
