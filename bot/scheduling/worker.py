"""Runs automations on a thread pool and feeds their outcomes back to the engine."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.definitions.steps import AutomationStep
from bot.engine import events as ev
from bot.engine.service import ConductorService, Dispatch
from bot.engine.versions import WorkflowVersions

log = logging.getLogger("conductor.worker")


class AutomationWorker:
    def __init__(self, service: ConductorService, versions: WorkflowVersions, workflows_dir: str,
                 *, max_workers: int = 8, after: Callable[[], None] | None = None):
        self.service = service
        self.versions = versions
        self.workflows_dir = workflows_dir
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="automation")
        self.after = after  # called when an outcome is recorded (more work may be waiting)

    def submit(self, dispatch: Dispatch) -> None:
        self.pool.submit(self.run, dispatch)

    def run(self, dispatch: Dispatch) -> None:
        from bot.automations.runner import run_automation

        request = dispatch.request
        try:
            with self.service.engine.connect() as conn:
                step = self.versions.by_row(conn, dispatch.version_row_id).workflow.step(request.step_id)
            assert isinstance(step, AutomationStep)
            outcome = run_automation(step, request, workflows_dir=self.workflows_dir,
                                     run_inputs=dispatch.inputs, earlier_outputs=dispatch.outputs,
                                     run_id=dispatch.run_id)
            if outcome.ok:
                event: ev.Event = ev.AutomationSucceeded(request.step_id, request.attempt, request.try_number, outcome.outputs)
            else:
                event = ev.AutomationFailed(request.step_id, request.attempt, request.try_number, outcome.error,
                                            retryable=outcome.retryable, output_tail=outcome.output_tail)
            self.service.handle(dispatch.run_id, event)
        except Exception:  # noqa: BLE001 - the worker must survive anything; the step's timeout still stands
            log.exception("automation %s of run %s could not be recorded", request.step_id, dispatch.run_id)
        if self.after is not None:
            self.after()

    def shutdown(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=not wait)
