"""Review of automations, as the engine sees them: a sampled automation's outputs wait for a
person of role `review.by`, who confirms or corrects them before the run goes on.

When an automation with `review:` succeeds and the run is in the sample (`sampled`), the step
does not finish: it waits on that person (`waiting_on_person`), its outputs are kept in the
state (a slot beside the shadows', `review:<step>:<attempt>`), and an `AskPerson` in the run's
thread shows them, with Submit opening the step's form preset to them. The person's `Answer`
finishes the step with the person's values, which later steps see; the audit says
`review_confirmed`, or `review_corrected` with the fields that changed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bot.definitions.steps import AutomationStep
from bot.engine import events as ev
from bot.engine.checks import must_be_assignee, require, valid_outputs
from bot.engine.messages import AskPerson
from bot.engine.permissions import is_member, principals_of
from bot.engine.progress import Transition
from bot.engine.refusals import InvalidAssignee
from bot.engine.state import RunState, StepStatus

BUCKETS = 10_000  # the sample's resolution: 0.01%


def sampled(run_id: str, step_id: str, sample: float) -> bool:
    """Whether this run's step is in a `sample`% sample: the first 8 bytes of
    SHA-256(`<run_id>:<step_id>`), modulo 10 000, fall below `sample` × 100. No chance in it:
    the same run and step always give the same answer."""
    digest = hashlib.sha256(f"{run_id}:{step_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS < round(sample * BUCKETS / 100)


def slot_key(step_id: str, attempt: int) -> str:
    return f"review:{step_id}:{attempt}"


def pending(state: RunState, step_id: str) -> dict[str, Any] | None:
    """The automation's outputs a person is asked to review now, if any."""
    st = state.steps.get(step_id)
    if st is None or st.status is not StepStatus.WAITING_ON_PERSON:
        return None
    slot = state.shadows.get(slot_key(step_id, st.attempt))
    return dict(slot["outputs"]) if slot is not None else None


def shown(outputs: dict[str, Any]) -> str:
    lines = [f"• {name}: {value}" for name, value in outputs.items()]
    return "The automation handed off:\n" + "\n".join(lines) if lines else "The automation handed off no outputs."


def hold(t: Transition, step: AutomationStep, outputs: dict[str, Any]) -> bool:
    """The automation succeeded with `outputs`: if this run is in the review's sample, ask
    the reviewer and return True (the step waits); else False (the step finishes now)."""
    review = step.review
    if review is None or not sampled(t.state.run_id, step.id, review.sample):
        return False
    st = t.state.steps[step.id]
    t.clear_step_timers(step.id, "timeout")
    st.status = StepStatus.WAITING_ON_PERSON
    st.assignees = principals_of(t.workflow, [review.by], t.state.started_by)
    t.state.shadows[slot_key(step.id, st.attempt)] = {"outputs": dict(outputs)}
    t.audit("review_requested", step_id=step.id, attempt=st.attempt, outputs=dict(outputs))
    t.emit(AskPerson(step_id=step.id, to=tuple(st.assignees), title=f"Review: {step.title}",
                     text=shown(outputs), fields=tuple(step.outputs)))
    return True


def _reviewed_step(t: Transition, step_id: str) -> AutomationStep | None:
    step = t.workflow.steps[t.index[step_id]] if step_id in t.index else None
    if isinstance(step, AutomationStep) and step.review is not None and pending(t.state, step_id) is not None:
        return step
    return None


def reassigned(t: Transition, e: ev.Reassign) -> bool:
    """A review handed to someone else, as a task is: True when `e` was about one."""
    step = _reviewed_step(t, e.step_id)
    if step is None:
        return False
    st = t.state.steps[e.step_id]
    if not is_member(e.actor, st.assignees, t.directory):
        require(t, e.actor, "reassign")
    if not (e.assignee.startswith(("U", "W")) and e.assignee[1:].isalnum()):
        raise InvalidAssignee(e.assignee)
    st.assignees = [e.assignee]
    t.emit(AskPerson(step_id=step.id, to=(e.assignee,), title=f"Review: {step.title}",
                     text=shown(pending(t.state, step.id) or {}), fields=tuple(step.outputs), reassigned_by=e.actor))
    return True


def answered(t: Transition, e: ev.Answer) -> bool:
    """A person's answer to a review: True when `e` was one (and was applied or refused)."""
    step = _reviewed_step(t, e.step_id)
    automated = pending(t.state, e.step_id)
    if step is None or automated is None:
        return False
    st = t.state.steps[e.step_id]
    must_be_assignee(t, st, e.actor, "review")
    outputs = valid_outputs(step.outputs, e.outputs)
    changed = sorted(name for name in set(automated) | set(outputs) if automated.get(name) != outputs.get(name))
    t.state.shadows.pop(slot_key(e.step_id, st.attempt), None)
    if changed:
        t.audit("review_corrected", e.actor, e.step_id, fields=changed, automated=automated, outputs=outputs)
    else:
        t.audit("review_confirmed", e.actor, e.step_id)
    t.finish(e.step_id, StepStatus.COMPLETED, outputs=outputs, actor=e.actor)
    return True
