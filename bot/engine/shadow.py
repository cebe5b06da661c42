"""Shadow runs, as the engine sees them: asked for when a person step waits, compared when
both the person and the candidate have answered, never a change to the run's path.

When a step with `shadow:` waits on people, a `RunShadow` effect asks the clock to run the
candidate on the same inputs (a row, claimed under a lease, so a crash neither loses nor
doubles it). Its result comes back as `ShadowFinished`, which only fills the shadow's slot in
the state: no message, no header edit, no timer. Whichever comes second, the person's answer
or the candidate's, compares the two field by field, audits `shadow_compared` and records
the comparison (`RecordCase`). A take-over of an escalated automation is recorded as a case.
"""

from __future__ import annotations

import math
import re
import string
from typing import Any

from bot.definitions import templates
from bot.definitions.shadow import CompareMode, NumberCompare
from bot.definitions.steps import ApprovalStep, AutomationStep, GateStep, TaskStep
from bot.engine import events as ev
from bot.engine.context import render_value
from bot.engine.effects import RecordCase, RunShadow
from bot.engine.progress import Transition
from bot.engine.refusals import StaleResult
from bot.engine.state import StepStatus

PersonStep = TaskStep | ApprovalStep | GateStep
# What a finished candidate may be: it answered, it failed, it ran out of time, or it is an
# `http` call, which a shadow never sends (so there is nothing to compare).
STATUSES = ("ok", "failed", "timed_out", "not_sent")


def slot_key(step_id: str, attempt: int) -> str:
    return f"{step_id}:{attempt}"


def shadow_row_key(run_id: str, step_id: str, attempt: int) -> str:
    """The key of the clock's row for one shadow run (also the key its result is claimed under)."""
    return f"{run_id}:{step_id}:{attempt}:shadow"


def case_inputs(t: Transition, with_values: Any) -> dict[str, Any]:
    """What a candidate is given: the rendered `with`, the run's inputs, earlier outputs."""
    steps = {sid: s.outputs for sid, s in t.state.steps.items() if s.outputs is not None}
    return {"with": templates.shown(with_values or {}), "inputs": dict(t.state.inputs), "steps": steps}


def start(t: Transition, step: PersonStep) -> None:
    """The step now waits on people: ask for its shadow, if it has one."""
    shadow = step.shadow
    if shadow is None:
        return
    st = t.state.steps[step.id]
    key = slot_key(step.id, st.attempt)
    try:
        params = render_value(
            {"with": shadow.with_, "run": shadow.run, "env": shadow.env,
             "http": shadow.http.model_dump(by_alias=True) if shadow.http else None},
            t.context(),
        )
    except Exception as exc:  # noqa: BLE001 - the shadow fails, the step goes on
        t.state.shadows[key] = {"status": "failed", "error": f"could not prepare the shadow's values: {exc}",
                                "outputs": None, "inputs": case_inputs(t, {})}
        t.audit("shadow_finished", step_id=step.id, attempt=st.attempt, status="failed")
        return
    t.state.shadows[key] = {"status": "pending", "inputs": case_inputs(t, params["with"])}
    t.emit(RunShadow(step.id, st.attempt, shadow_row_key(t.state.run_id, step.id, st.attempt), params,
                     lease_seconds=int(shadow.timeout.total_seconds()) + 60))
    t.audit("shadow_started", step_id=step.id, attempt=st.attempt)


def answered(t: Transition, step: PersonStep, person: dict[str, Any], actor: str) -> None:
    """The person has answered the step: compare now if the candidate is done, else later."""
    if step.shadow is None:
        return
    attempt = t.state.steps[step.id].attempt
    slot = t.state.shadows.get(slot_key(step.id, attempt))
    if slot is None or "person" in slot:
        return
    slot["person"], slot["actor"] = dict(person), actor
    if slot["status"] != "pending":
        _compare(t, step, attempt, slot)


def finished(t: Transition, e: ev.ShadowFinished) -> None:
    """The candidate has finished: fill its slot; compare if the person answered already."""
    slot = t.state.shadows.get(slot_key(e.step_id, e.attempt))
    if slot is None or slot["status"] != "pending" or e.status not in STATUSES:
        raise StaleResult(e.attempt, 1)
    slot.update(status=e.status, outputs=dict(e.outputs) if e.status == "ok" else None, error=e.error)
    t.audit("shadow_finished", step_id=e.step_id, attempt=e.attempt, status=e.status, error=e.error)
    step = t.workflow.step(e.step_id)
    if "person" in slot and isinstance(step, (TaskStep, ApprovalStep, GateStep)):
        _compare(t, step, e.attempt, slot)
        return
    st = t.state.steps.get(e.step_id)
    if st is None or st.attempt != e.attempt or st.status is not StepStatus.WAITING_ON_PERSON:
        # Nobody will answer this attempt (skipped, cancelled, gone round again): nothing to compare.
        t.state.shadows.pop(slot_key(e.step_id, e.attempt), None)


def taken_over(t: Transition, step: AutomationStep, outputs: dict[str, Any], actor: str) -> None:
    """A person did an escalated automation's work: their outputs are a case for its code."""
    st = t.state.steps[step.id]
    try:
        with_values = render_value(step.with_, t.context())
    except Exception:  # noqa: BLE001 - a case without its `with` is still a case
        with_values = {}
    t.emit(RecordCase(step.id, st.attempt, "take_over", case_inputs(t, with_values), dict(outputs), actor,
                      candidate=None, candidate_status="failed", candidate_error=st.error, agreed=False))


def _compare(t: Transition, step: PersonStep, attempt: int, slot: dict[str, Any]) -> None:
    assert step.shadow is not None
    status = slot["status"]
    fields: dict[str, dict[str, Any]] = {}
    agreed: bool | None = None
    if status == "ok":
        # The fields the person handed off (a rejection hands off only its verdict).
        names = tuple(n for n in step.shadow_fields() if n in slot["person"]) or step.shadow_fields()
        fields = compare_outputs(step.shadow.compare, names, slot["person"], slot.get("outputs") or {})
        agreed = all(f["agree"] for f in fields.values())
    elif status != "not_sent":
        agreed = False  # a candidate that fails would have handed the step to a person
    t.audit("shadow_compared", step_id=step.id, attempt=attempt, status=status, agreed=agreed,
            fields={name: f["agree"] for name, f in fields.items()})
    t.emit(RecordCase(step.id, attempt, "shadow", slot["inputs"], slot["person"], slot.get("actor"),
                      candidate=slot.get("outputs"), candidate_status=status, candidate_error=slot.get("error"),
                      agreed=agreed, fields=fields))
    t.state.shadows.pop(slot_key(step.id, attempt), None)


# --- comparing ----------------------------------------------------------------------------------
def compare_outputs(modes: dict[str, CompareMode], names: tuple[str, ...], person: dict[str, Any],
                    candidate: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field by field: each field the person hands off, `{mode, agree, person, candidate}`."""
    compared: dict[str, dict[str, Any]] = {}
    for name in names or tuple(person):
        mode = modes.get(name, "exact")
        mine, theirs = person.get(name), candidate.get(name)
        compared[name] = {"mode": mode_name(mode), "agree": agree(mode, mine, theirs), "person": mine,
                          "candidate": theirs}
    return compared


def mode_name(mode: CompareMode) -> str:
    return f"number ±{mode.number.tolerance:g}" if isinstance(mode, NumberCompare) else mode


def agree(mode: CompareMode, person: Any, candidate: Any) -> bool:
    if isinstance(mode, NumberCompare):
        a, b = _number(person), _number(candidate)
        if a is None or b is None:
            return person is None and candidate is None
        return abs(a - b) <= mode.number.tolerance + 1e-9
    if mode == "normalized":
        return _normalized(person) == _normalized(candidate)
    if mode == "set":
        return _as_set(person) == _as_set(candidate)
    return bool(person == candidate)


_FOLD = re.compile(rf"[\s{re.escape(string.punctuation)}’‘“”–—…]+")


def _normalized(value: Any) -> str:
    return "" if value is None else _FOLD.sub(" ", str(value).casefold()).strip()


def _as_set(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple, set)) else [value]
    return frozenset(_normalized(item) if isinstance(item, str) else repr(item) for item in items if item != "")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).replace(",", "").strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def wilson_lower_bound(agreed: int, runs: int, z: float = 1.959964) -> float:
    """The Wilson score interval's lower bound (95% by default) of `agreed` out of `runs`."""
    if runs <= 0:
        return 0.0
    p = agreed / runs
    denominator = 1 + z * z / runs
    centre = p + z * z / (2 * runs)
    margin = z * math.sqrt(p * (1 - p) / runs + z * z / (4 * runs * runs))
    return max(0.0, (centre - margin) / denominator)
