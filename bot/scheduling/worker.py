"""Runs automations on a thread pool and feeds their outcomes back to the engine."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.definitions.steps import AutomationStep
from bot.engine import events as ev
from bot.engine.service import ConductorService, Dispatch
from bot.engine.versions import WorkflowVersions
from bot.observability.context import log_context
from bot.observability.metrics import observe_automation
from bot.observability.redaction import KNOWN_SECRETS
from bot.scheduling.pool import WorkPool

log = logging.getLogger("conductor.worker")


def automation_kind(step: AutomationStep) -> str:
    """`python` (`uses`), `command` (`run`) or `http`: the kind of runner a step needs."""
    if step.uses is not None:
        return "python"
    return "command" if step.run is not None else "http"


class AutomationWorker:
    def __init__(self, service: ConductorService, versions: WorkflowVersions, workflows_dir: str,
                 *, max_workers: int = 8, after: Callable[[], None] | None = None):
        self.service = service
        self.versions = versions
        self.workflows_dir = workflows_dir
        # Daemon threads, waited for with a deadline when the clock stops (see `pool`).
        self.pool = WorkPool(max_workers, "automation", describe=describe_work)
        self.after = after  # called when an outcome is recorded (more work may be waiting)

    def submit(self, dispatch: Dispatch) -> None:
        try:
            self.pool.submit(self.run, dispatch)
        except RuntimeError:  # stopping: claimed but not run, as after a crash
            log.warning("automation %s of run %s was claimed as the clock stopped; the next clock recovers it",
                        dispatch.request.step_id, dispatch.run_id)

    def run(self, dispatch: Dispatch) -> None:
        with log_context(run_id=dispatch.run_id, step_id=dispatch.request.step_id):
            self._run(dispatch)
        if self.after is not None:
            self.after()

    def _run(self, dispatch: Dispatch) -> None:
        from bot.automations.egress import EgressPolicy
        from bot.automations.runner import run_automation

        request = dispatch.request
        try:
            with self.service.engine.connect() as conn:
                workflow = self.versions.by_row(conn, dispatch.version_row_id).workflow
            step = workflow.step(request.step_id)
            assert isinstance(step, AutomationStep)
            # Secrets this automation uses are masked in every log line from now on, including
            # what the automation's own code logs.
            KNOWN_SECRETS.remember_references(request.params)
            started = time.perf_counter()
            outcome = run_automation(step, request, workflows_dir=self.workflows_dir,
                                     run_inputs=dispatch.inputs, earlier_outputs=dispatch.outputs,
                                     run_id=dispatch.run_id,
                                     egress=EgressPolicy(allow=tuple(workflow.egress.allow)))
            observe_automation(workflow.id, automation_kind(step), outcome.ok, time.perf_counter() - started)
            if outcome.ok:
                event: ev.Event = ev.AutomationSucceeded(request.step_id, request.attempt, request.try_number, outcome.outputs)
            else:
                log.warning("automation %s try %s failed: %s", request.step_id, request.try_number, outcome.error,
                            extra={"attempt": request.attempt, "try_number": request.try_number,
                                   "retryable": outcome.retryable})
                event = ev.AutomationFailed(request.step_id, request.attempt, request.try_number, outcome.error,
                                            retryable=outcome.retryable, output_tail=outcome.output_tail)
            self.service.handle(dispatch.run_id, event)
        except Exception:  # the worker must survive anything; the step's timeout still stands
            log.exception("automation %s of run %s could not be recorded", request.step_id, dispatch.run_id)

    def join(self, timeout: float | None) -> list[str]:
        """Wait (at most `timeout` seconds) for the automations given so far; what is still
        running or queued then."""
        return self.pool.join(timeout)

    def shutdown(self, wait: bool = True) -> None:
        """Take no more work; with `wait`, wait for all of it (without a bound), else drop
        what has not started."""
        self.pool.shutdown(wait=wait, cancel_futures=not wait)


def describe_work(fn: Callable[..., object], args: tuple[object, ...]) -> str:
    """How a piece of the worker's work is named when the clock stops and leaves it behind."""
    if args and isinstance(args[0], Dispatch):
        dispatch = args[0]
        return f"automation {dispatch.request.step_id} try {dispatch.request.try_number} of run {dispatch.run_id}"
    return getattr(fn, "__qualname__", repr(fn))
