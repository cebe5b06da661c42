"""Run one try of an automation step: the engine's `RunAutomation` in, a `RunOutcome` out.

`run_automation` resolves the secret references the workflow's author wrote (marked as such
when the values were rendered; `${{ secrets.NAME }}` text from data stays text), then hands
the rendered values to the runner for `uses` (a Python function), `run` (a command) or `http`
(a request). Whatever the automation does wrong -- raises, hangs, exits non-zero, answers 500,
needs a secret that is not set -- comes back as a failed `RunOutcome`, never as an exception.
Only a caller's mistake raises `ValueError`: a built-in (`conductor/post`, `conductor/wait`,
which the engine carries out itself), a request for another step, or one without the
rendered values.

Every outcome leaves here redacted: each secret value the automation was given, and anything
shaped like a Slack token, is masked in its outputs, error and output tail. Outputs are stored
in the run's state and shown to every later template, so an endpoint or a command that echoes
a credential back must not put it there (the runners mask their own messages too, before they
cut excerpts, so that no cut leaves part of a secret).

An `http:` step connects only where `egress` lets it (see `egress.py`).

A try that overruns its timeout is reported as a failure on time; work it leaves behind
cannot report later, nor go on with its effects: a Python call's child process and a command's
process group are killed. The engine ignores results of tries older than the current one.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
from collections.abc import Mapping
from typing import Any

from bot.automations.command_runner import command_environment, run_command
from bot.automations.context import AutomationContext, AutomationError
from bot.automations.deadline import describe_error
from bot.automations.egress import EgressPolicy
from bot.automations.http_runner import run_http
from bot.automations.outcome import RunOutcome
from bot.automations.python_runner import run_python
from bot.automations.secrets import MASK, Redactor, SecretResolver
from bot.definitions.steps import BUILTIN_USES, AutomationStep
from bot.engine.effects import RunAutomation
from bot.observability.redaction import SLACK_TOKEN

log = logging.getLogger("conductor.automation")
# An error is a message for people, stored with the run and posted to Slack: a function that
# raises with a whole document in its message must not put all of it there.
ERROR_CHARS = 2000


def run_automation(
    step: AutomationStep,
    request: RunAutomation,
    *,
    workflows_dir: str,
    run_inputs: dict | None = None,
    earlier_outputs: dict | None = None,
    run_id: str | None = None,
    environ: Mapping[str, str] | None = None,
    egress: EgressPolicy | None = None,
) -> RunOutcome:
    """Carry out `request` for `step`.

    `workflows_dir` is the folder the workflow files and their `automations` package are in.
    `run_inputs` and `earlier_outputs` (step id -> outputs) are what a Python function sees
    as `ctx.inputs` and `ctx.steps`. `run_id` defaults to the run id the engine puts at the
    start of the idempotency key (`<run>:<step>:<attempt>`). Secrets, and the variables a
    command inherits, are read from `environ` (default: the process environment). `egress`
    says what an `http:` step may reach besides public addresses (default: what the setting
    `HTTP_ALLOW_PRIVATE` allows; the workflow's `egress.allow` comes in through it).
    """
    if step.uses in BUILTIN_USES:
        raise ValueError(f"`{step.uses}` is a built-in the engine carries out; it has no runner")
    if request.step_id != step.id:
        raise ValueError(f"the request is for step `{request.step_id}`, not `{step.id}`")
    for key, given in (("run", step.run), ("http", step.http)):
        if given is not None and (request.params or {}).get(key) is None:
            raise ValueError(f"the request for step `{step.id}` carries no rendered `{key}`")
    redactor = Redactor()
    try:
        resolver = SecretResolver(environ)
        try:
            params = resolver.resolve(request.params or {})
        except AutomationError as exc:  # a missing secret: never worth another try
            return redacted(RunOutcome.failure(str(exc), retryable=exc.retryable), redactor)
        redactor = resolver.redactor
        outcome = _dispatch(step, request, params, redactor, workflows_dir=workflows_dir,
                            run_id=run_id if run_id is not None else run_id_from_key(request),
                            inputs=run_inputs or {}, steps=earlier_outputs or {}, environ=environ,
                            egress=egress)
        outcome = redacted(outcome, redactor)
    except Exception as exc:  # a fault of the runner itself is reported, never raised into the engine
        log.exception("automation runner fault in step %s", step.id)
        failed = RunOutcome.failure(f"the automation runner failed: {describe_error(exc)}", retryable=True)
        return redacted(failed, redactor)
    log.debug("step %s try %s: %s", step.id, request.try_number, "ok" if outcome.ok else outcome.error)
    return outcome


def redacted(outcome: RunOutcome, redactor: Redactor) -> RunOutcome:
    """`outcome` with every secret value `redactor` knows, and every Slack-token-shaped
    string, masked in its outputs (keys and values, at any depth), error and output tail;
    the error is cut to `ERROR_CHARS` after masking."""

    def mask(text: str) -> str:
        return SLACK_TOKEN.sub(rf"\1{MASK}", redactor(text))

    error = mask(outcome.error)
    if len(error) > ERROR_CHARS:
        error = error[: ERROR_CHARS - 1] + "…"
    return dataclasses.replace(outcome, outputs=_mask_data(outcome.outputs, mask), error=error,
                               output_tail=mask(outcome.output_tail))


def _mask_data(value: Any, mask: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {(mask(k) if isinstance(k, str) else k): _mask_data(v, mask) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_data(item, mask) for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and mask(str(value)) == MASK:
        return MASK  # a numeric secret (a PIN, an account number) echoed back as a JSON number
    return value


def run_id_from_key(request: RunAutomation) -> str:
    """The run id the engine put at the start of the idempotency key, or `""`."""
    suffix = f":{request.step_id}:{request.attempt}"
    key = request.idempotency_key
    return key[: -len(suffix)] if key.endswith(suffix) and len(key) > len(suffix) else ""


def _dispatch(
    step: AutomationStep,
    request: RunAutomation,
    params: Mapping[str, Any],
    redactor: Redactor,
    *,
    workflows_dir: str,
    run_id: str,
    inputs: dict,
    steps: dict,
    environ: Mapping[str, str] | None,
    egress: EgressPolicy | None,
) -> RunOutcome:
    timeout = step.timeout.total_seconds()
    with_values = params.get("with") or {}
    if step.uses is not None:
        context = AutomationContext(
            run_id=run_id,
            step_id=step.id,
            attempt=request.attempt,
            idempotency_key=request.idempotency_key,
            inputs=copy.deepcopy(dict(inputs)),
            steps=copy.deepcopy(dict(steps)),
            params=copy.deepcopy(dict(with_values)),
            logger=logging.getLogger(f"conductor.automation.{step.id}"),
        )
        return run_python(step.uses, context, timeout=timeout, redactor=redactor, workflows_dir=workflows_dir)
    if step.run is not None:
        argv = params["run"]
        env = command_environment(
            workflows_dir, params.get("env") or {}, run_id=run_id, step_id=step.id,
            attempt=request.attempt, idempotency_key=request.idempotency_key, with_values=with_values,
            base=environ,
        )
        return run_command(argv, cwd=os.path.abspath(workflows_dir), env=env, timeout=timeout, redactor=redactor)
    if step.http is not None:
        call = params["http"]
        return run_http(call, idempotency_key=request.idempotency_key, timeout=timeout, redactor=redactor,
                        egress=egress)
    raise ValueError(f"step `{step.id}` has no `uses`, `run` or `http`")
