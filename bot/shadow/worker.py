"""The clock's side of shadow runs: claim what is due, run each in the sandbox, record it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.engine.service import ConductorService, Result
from bot.engine.versions import WorkflowVersions
from bot.shadow.claims import ShadowDispatch, claim_shadows, record_shadow
from bot.shadow.runner import CandidateResult, candidate_of_shadow, run_candidate

log = logging.getLogger("conductor.shadow")


def run_one(service: ConductorService, versions: WorkflowVersions, workflows_dir: str,
            dispatch: ShadowDispatch) -> Result | None:
    """Run one claimed shadow and apply its result; None when it could not be recorded (its
    lease runs out and it is claimed again)."""
    try:
        with service.engine.connect() as conn:
            workflow = versions.by_row(conn, dispatch.version_row_id).workflow
        step = workflow.step(dispatch.step_id)
        shadow = getattr(step, "shadow", None)
        if shadow is None:
            result = CandidateResult("failed", {}, "the step has no shadow in this version")
        else:
            result = run_candidate(candidate_of_shadow(shadow), step_id=dispatch.step_id, attempt=dispatch.attempt,
                                   run_id=dispatch.run_id, params=dispatch.params, inputs=dispatch.inputs,
                                   outputs=dispatch.outputs, workflows_dir=workflows_dir)
        return record_shadow(service, dispatch, result.status, result.outputs, result.error)
    except Exception:  # the clock must survive anything; the lease brings the shadow back
        log.exception("shadow of step %s in run %s could not be recorded", dispatch.step_id, dispatch.run_id)
        return None


def run_due_shadows(service: ConductorService, versions: WorkflowVersions, workflows_dir: str, now: datetime,
                    submit: Callable[[Callable[[], object]], object] | None = None) -> int:
    """Claim the shadows due by `now` and run each (on `submit`'s pool, else here); how many."""
    dispatches = claim_shadows(service, now)
    for dispatch in dispatches:
        def work(d: ShadowDispatch = dispatch) -> object:
            return run_one(service, versions, workflows_dir, d)

        if submit is None:
            work()
        else:
            submit(work)
    return len(dispatches)
