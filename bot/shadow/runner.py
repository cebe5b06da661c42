"""Running a candidate in a sandbox: a shadow beside a person, or a replay of recorded cases.

The candidate is run as an automation would be (a Python function in the child process, a
command with no shell), with three differences: an `http` call is never sent (it is stood in,
and recorded as `not_sent`); a command gets `CONDUCTOR_SHADOW=1`, and a Python function an
idempotency key that starts `shadow:`; and the result goes only to the comparison, never to
the run or to Slack. A candidate that fails or runs out of time is recorded as such.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.definitions.steps import AutomationStep, HttpCall
from bot.engine.effects import RunAutomation

log = logging.getLogger("conductor.shadow")


@dataclass(frozen=True)
class Candidate:
    """What to run: one of `uses`, `run` or `http`, as a shadow or `--with` gives it."""

    uses: str | None = None
    run: list[str] | None = None
    http: HttpCall | None = None
    env: dict[str, str] = field(default_factory=dict)
    timeout: timedelta = timedelta(minutes=1)


@dataclass(frozen=True)
class CandidateResult:
    status: str  # ok, failed, timed_out, not_sent
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def run_candidate(
    candidate: Candidate, *, step_id: str, attempt: int, run_id: str, params: dict[str, Any],
    inputs: dict[str, Any], outputs: dict[str, dict[str, Any]], workflows_dir: str,
    environ: Mapping[str, str] | None = None,
) -> CandidateResult:
    """Run `candidate` once on `params` (rendered `with`/`run`/`env`), never raising."""
    if candidate.http is not None:
        call = params.get("http") or candidate.http.model_dump(by_alias=True)
        return CandidateResult("not_sent", {}, f"stood in: {call.get('method', 'POST')} {call.get('url', '')} was not sent")
    from bot.automations.egress import EgressPolicy
    from bot.automations.runner import run_automation

    env = {**(params.get("env") or candidate.env or {}), "CONDUCTOR_SHADOW": "1"}
    rendered = {**params, "env": env, "run": params.get("run") or candidate.run, "http": None}
    try:
        step = AutomationStep.model_validate({
            "id": step_id, "uses": candidate.uses, "run": candidate.run, "env": candidate.env,
            "timeout": candidate.timeout, "retry": {"attempts": 1}, "on_failure": "fail",
        })
        request = RunAutomation(step_id, attempt, 1, f"shadow:{run_id}:{step_id}:{attempt}", rendered)
        outcome = run_automation(step, request, workflows_dir=workflows_dir, run_inputs=inputs,
                                 earlier_outputs=outputs, run_id=run_id, environ=environ,
                                 egress=EgressPolicy(allow=()))
    except Exception as exc:
        log.exception("shadow of step %s could not run", step_id)
        return CandidateResult("failed", {}, f"the shadow could not run: {exc}")
    if outcome.ok:
        return CandidateResult("ok", dict(outcome.outputs or {}), None)
    status = "timed_out" if "timed out" in outcome.error.lower() else "failed"
    return CandidateResult(status, {}, outcome.error)


def candidate_of_shadow(shadow: Any) -> Candidate:
    return Candidate(uses=shadow.uses, run=list(shadow.run) if shadow.run else None, http=shadow.http,
                     env=dict(shadow.env), timeout=shadow.timeout)
