"""The conductor's core: `advance(workflow, state, event, now, directory) -> outcome`.

Pure: no database, no Slack, no clock. The state given is never changed; an accepted event
returns a new state and the effects to carry out, a refused one returns why (and an audit
effect, because refusals are recorded too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.definitions.fields import FieldSpec
from bot.definitions.steps import ApprovalStep, AutomationStep, GateStep, StandupStep, TaskStep
from bot.definitions.values import format_duration
from bot.definitions.workflow import Workflow
from bot.engine import events as ev
from bot.engine.effects import Audit, Effect, Message, UpdateHeader
from bot.engine.handoff import check_outputs, describe_problems
from bot.engine.permissions import Directory, is_member, principals_of
from bot.engine.progress import Refusal, Transition
from bot.engine.state import RunState, RunStatus, StepState, StepStatus

SYSTEM_EVENTS = (ev.AutomationSucceeded, ev.AutomationFailed, ev.TimerFired, ev.Recover)


@dataclass
class Accepted:
    state: RunState
    effects: list[Effect]


@dataclass
class Refused:
    code: str
    reason: str
    field_errors: dict[str, str] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)


Outcome = Accepted | Refused


def start_run(
    workflow: Workflow, *, run_id: str, version: str, actor: str | None, inputs: dict[str, Any],
    now: datetime, directory: Directory,
) -> Outcome:
    """Start a run. `actor` None means the system (a schedule or a signed webhook)."""
    if actor is not None and not may(workflow, None, actor, "start", directory):
        return _refused(Refusal("not_allowed", f"you may not start `{workflow.id}`"), actor, None, {"type": "Start"})
    clean, problems = check_outputs(workflow.inputs, inputs)
    if clean is None:
        return _refused(Refusal("invalid_inputs", describe_problems(problems), problems), actor, None, {"type": "Start"})
    state = RunState(run_id=run_id, workflow_id=workflow.id, version=version, started_by=actor, started_at=now, inputs=clean)
    state.steps = {step.id: StepState() for step in workflow.steps}
    state.seq = 1
    t = Transition(workflow, state, now, directory)
    t.audit("run_started", actor, inputs=clean)
    t.thread("run_started", None, "", (actor,) if actor else (), workflow=workflow.title)
    t.emit(UpdateHeader())
    t.activate(workflow.steps[0].id)
    t.settle()
    return Accepted(state, t.effects)


def advance(
    workflow: Workflow, state: RunState, event: ev.Event, now: datetime, directory: Directory, *, owned: bool = False
) -> Outcome:
    """Apply one event to a run. The given state is left as it was, unless the caller says it
    `owned` a private copy (the service parses one from the database for this alone)."""
    described = ev.describe(event)
    actor = getattr(event, "actor", None)
    step_id = getattr(event, "step_id", None)
    if state.final:
        return _refused(Refusal("run_finished", f"this run has already {state.status.value}"), actor, step_id, described)
    t = Transition(workflow, state if owned else state.clone(), now, directory)
    try:
        _HANDLERS[type(event)](t, event)
    except Refusal as refusal:
        return _refused(refusal, actor, step_id, described)
    t.state.seq += 1
    if not isinstance(event, SYSTEM_EVENTS) or isinstance(event, ev.Recover):
        t.effects.insert(0, Audit("accepted", actor, step_id, described))
    t.settle()
    if not any(isinstance(e, UpdateHeader) for e in t.effects):
        t.emit(UpdateHeader())
    return Accepted(t.state, t.effects)


def _refused(refusal: Refusal, actor: str | None, step_id: str | None, described: dict[str, Any]) -> Refused:
    audit = Audit("refused", actor, step_id, {"code": refusal.code, "reason": refusal.reason, "event": described})
    return Refused(refusal.code, refusal.reason, refusal.field_errors, [audit])


# --- permissions ------------------------------------------------------------------------------
def may(workflow: Workflow, state: RunState | None, actor: str | None, action: str, directory: Directory) -> bool:
    """Whether `actor` may do a workflow-level `action` (start, cancel, take_over, skip, retry, reassign)."""
    roles = workflow.permissions.roles_for(action)
    allowed = principals_of(workflow, roles, state.started_by if state else None)
    if workflow.conductor and action != "start":
        allowed += principals_of(workflow, [workflow.conductor], None)
    return is_member(actor, allowed, directory)


def _require(t: Transition, actor: str | None, action: str) -> None:
    if not may(t.workflow, t.state, actor, action, t.directory):
        roles = ", ".join(t.workflow.permissions.roles_for(action))
        raise Refusal("not_allowed", f"only {roles} may {action.replace('_', ' ')} in `{t.workflow.id}`")


def _step(t: Transition, step_id: str, kinds: tuple[type, ...], statuses: tuple[StepStatus, ...]) -> tuple[Any, StepState]:
    if step_id not in t.state.steps:
        raise Refusal("unknown_step", f"there is no step `{step_id}` in this run")
    step = t.workflow.step(step_id)
    st = t.state.steps[step_id]
    if not isinstance(step, kinds):
        raise Refusal("wrong_step", f"`{step.title}` cannot take that action")
    if st.status not in statuses:
        raise Refusal("not_waiting", f"`{step.title}` is {st.status.value.replace('_', ' ')}, not waiting for that")
    return step, st


def _must_be_assignee(t: Transition, st: StepState, actor: str, what: str) -> None:
    if not is_member(actor, st.assignees, t.directory):
        raise Refusal("not_allowed", f"this {what} is not yours")


def _outputs(fields: dict[str, FieldSpec], data: dict[str, Any]) -> dict[str, Any]:
    clean, problems = check_outputs(fields, data)
    if clean is None:
        raise Refusal("invalid_outputs", describe_problems(problems), problems)
    return clean


WAITING = (StepStatus.WAITING_ON_PERSON,)


# --- people -------------------------------------------------------------------------------------
def _answer(t: Transition, e: ev.Answer) -> None:
    step, st = _step(t, e.step_id, (TaskStep,), WAITING)
    _must_be_assignee(t, st, e.actor, "step")
    t.finish(e.step_id, StepStatus.COMPLETED, outputs=_outputs(step.outputs, e.outputs), actor=e.actor)


def _approve(t: Transition, e: ev.Approve) -> None:
    step, st = _step(t, e.step_id, (ApprovalStep,), WAITING)
    _must_be_assignee(t, st, e.actor, "approval")
    if e.actor in st.approvals:
        raise Refusal("duplicate", "you have already approved this")
    outputs = _outputs(step.outputs, e.outputs)
    st.approvals.append(e.actor)
    if len(st.approvals) >= step.min_approvals:
        t.finish(e.step_id, StepStatus.COMPLETED, outputs=outputs, actor=e.actor)
    else:
        t.thread("approval_progress", e.step_id, "", (), approvals=list(st.approvals), needed=step.min_approvals)


def _reject(t: Transition, e: ev.Reject) -> None:
    step, st = _step(t, e.step_id, (ApprovalStep,), WAITING)
    _must_be_assignee(t, st, e.actor, "approval")
    st.actor, st.reason = e.actor, e.reason or "no reason given"
    t.thread("rejected", e.step_id, "", (), title=step.title, actor=e.actor, reason=st.reason, back_to=step.on_reject)
    t.audit("rejected", e.actor, e.step_id, reason=st.reason)
    if step.on_reject:
        t.clear_step_timers(e.step_id)
        # The approval follows from its `on_reject` step (the loader makes sure), so going
        # back resets it and the run reaches it again.
        st.status = StepStatus.PENDING
        t.go(e.step_id, step.on_reject)
    else:
        st.status = StepStatus.FAILED
        st.finished_at = t.now
        t.end_run(RunStatus.FAILED, f"`{step.title}` was rejected: {st.reason}")


def _decide(t: Transition, e: ev.Decide) -> None:
    step, st = _step(t, e.step_id, (GateStep,), WAITING)
    if step.decide is None:
        raise Refusal("wrong_step", f"`{step.title}` decides by itself")
    _must_be_assignee(t, st, e.actor, "decision")
    for route in step.routes:
        if e.choice in (route.goto, route.label):
            t.finish(e.step_id, StepStatus.COMPLETED, actor=e.actor, route=route.goto)
            return
    raise Refusal("invalid_choice", f"`{e.choice}` is not one of the choices")


def _standup_fields(step: StandupStep) -> dict[str, FieldSpec]:
    return {q.id: FieldSpec(type=q.type, options=q.options, required=q.required, label=q.text) for q in step.questions}


def _take_standup_answers(t: Transition, step: StandupStep, st: StepState, actor: str, answers: dict[str, Any]) -> None:
    st.answers[actor] = _outputs(_standup_fields(step), answers)
    st.drafts.pop(actor, None)
    closes = st.closes.get(actor)
    if closes and t.now > datetime.fromisoformat(closes) and actor not in st.late:
        st.late.append(actor)  # taken all the same, and marked late in the summary
    if all(user in st.answers for user in st.assignees):
        t.close_standup(step.id)


def _standup_answer(t: Transition, e: ev.StandupAnswer) -> None:
    step, st = _step(t, e.step_id, (StandupStep,), WAITING)
    _must_be_assignee(t, st, e.actor, "stand-up")
    _take_standup_answers(t, step, st, e.actor, e.answers)


def _standup_reply(t: Transition, e: ev.StandupReply) -> None:
    """Answering in a DM, one question at a time: each reply answers the next question."""
    step, st = _step(t, e.step_id, (StandupStep,), WAITING)
    _must_be_assignee(t, st, e.actor, "stand-up")
    draft = dict(st.drafts.get(e.actor, {}))
    pending = [q for q in step.questions if q.id not in draft]
    question = pending[0]
    fields = _standup_fields(step)
    reply = e.text.strip()
    if reply:
        _outputs({question.id: fields[question.id].model_copy(update={"required": True})}, {question.id: reply})
    draft[question.id] = reply or None
    if len(pending) > 1:
        st.drafts[e.actor] = draft
        following = pending[1]
        t.emit(Message("standup_question", "dm", step.id, (e.actor,), following.text,
                       {"title": step.title, "question": following.id}))
        return
    _take_standup_answers(t, step, st, e.actor, {k: v for k, v in draft.items() if v is not None})
    t.emit(Message("standup_thanks", "dm", step.id, (e.actor,), "", {"title": step.title}))


def _reassign(t: Transition, e: ev.Reassign) -> None:
    step, st = _step(t, e.step_id, (TaskStep, GateStep), WAITING)
    if not is_member(e.actor, st.assignees, t.directory):
        _require(t, e.actor, "reassign")
    if not (e.assignee.startswith(("U", "W")) and e.assignee[1:].isalnum()):
        raise Refusal("invalid_assignee", f"`{e.assignee}` is not a Slack user")
    st.assignees = [e.assignee]
    if isinstance(step, GateStep):
        options = [route.label or route.goto for route in step.routes]
        t.thread("decision_request", e.step_id, "", (e.assignee,), title=step.title, options=options, reassigned_by=e.actor)
    else:
        t.thread("ask", e.step_id, "", (e.assignee,), title=step.title, reassigned_by=e.actor,
                 fields=list(getattr(step, "outputs", {}) or {}))


# --- automations --------------------------------------------------------------------------------
def _current_try(t: Transition, e: ev.AutomationSucceeded | ev.AutomationFailed) -> tuple[AutomationStep, StepState]:
    step, st = _step(t, e.step_id, (AutomationStep,), (StepStatus.RUNNING,))
    if (e.attempt, e.try_number) != (st.attempt, st.tries):
        raise Refusal("stale", "a late result of an earlier try was ignored")
    return step, st


def _succeeded(t: Transition, e: ev.AutomationSucceeded) -> None:
    step, _ = _current_try(t, e)
    clean, problems = check_outputs(step.outputs, e.outputs)
    if clean is None:
        t.automation_failed(e.step_id, f"returned outputs that do not fit the step: {describe_problems(problems)}", retryable=False)
        return
    t.finish(e.step_id, StepStatus.COMPLETED, outputs=clean)


def _failed(t: Transition, e: ev.AutomationFailed) -> None:
    _current_try(t, e)
    t.automation_failed(e.step_id, e.error, retryable=e.retryable, tail=e.output_tail)


def _take_over(t: Transition, e: ev.TakeOver) -> None:
    step, st = _step(t, e.step_id, (AutomationStep,), (StepStatus.ESCALATED, StepStatus.RETRY_WAIT))
    if not (step.escalate_to and is_member(e.actor, principals_of(t.workflow, [step.escalate_to], None), t.directory)):
        _require(t, e.actor, "take_over")
    t.audit("taken_over", e.actor, e.step_id)
    t.finish(e.step_id, StepStatus.COMPLETED, outputs=_outputs(step.outputs, e.outputs), actor=e.actor)


def _retry_now(t: Transition, e: ev.RetryNow) -> None:
    _step(t, e.step_id, (AutomationStep,), (StepStatus.ESCALATED, StepStatus.RETRY_WAIT))
    _require(t, e.actor, "retry")
    t.clear_step_timers(e.step_id)
    t.start_try(e.step_id)


def _skip(t: Transition, e: ev.Skip) -> None:
    active = tuple(s for s in StepStatus if s not in (StepStatus.PENDING, StepStatus.COMPLETED, StepStatus.SKIPPED, StepStatus.FAILED, StepStatus.CANCELLED))
    _step(t, e.step_id, (TaskStep, ApprovalStep, GateStep, AutomationStep, StandupStep), active)
    _require(t, e.actor, "skip")
    t.finish(e.step_id, StepStatus.SKIPPED, actor=e.actor, reason=e.reason or f"skipped by <@{e.actor}>")


def _recover(t: Transition, e: ev.Recover) -> None:
    step, st = _step(t, e.step_id, (AutomationStep,), (StepStatus.RUNNING,))
    t.clear_step_timers(e.step_id, "timeout")
    if step.idempotent:
        # Run it again: a new try, under the same idempotency key as the interrupted one.
        t.audit("recovered_rerun", step_id=e.step_id, interrupted_try=st.tries)
        t.start_try(e.step_id)
    else:
        t.escalate(step, st, "Conductor restarted while this automation was running, and it is not marked "
                   "idempotent: check whether it took effect, then Retry, Skip or Take over.", "")


# --- time ---------------------------------------------------------------------------------------
def _timer(t: Transition, e: ev.TimerFired) -> None:
    timer = t.state.timers.pop(e.key, None)
    if timer is None:
        raise Refusal("stale", "that timer is no longer set")
    step_id = timer.step_id
    st = t.state.steps.get(step_id) if step_id else None
    if st is None:
        return
    step = t.workflow.step(step_id)
    match timer.kind:
        case "reminder" if "user" in timer.data:
            # A stand-up's tiered reminders: a quiet DM first, an @mention in the thread last.
            user = timer.data["user"]
            if user not in st.answers:
                destination = "thread" if timer.data.get("last") else "dm"
                t.emit(Message("reminder", destination, step_id, (user,), "",
                               {"title": step.title, "number": timer.data.get("n", 0) + 1, "closes": st.closes.get(user)}))
        case "reminder":
            waiting_on = [u for u in st.assignees if u not in st.answers and u not in st.approvals]
            t.thread("reminder", step_id, "", tuple(waiting_on), title=step.title, number=timer.data.get("n", 0) + 1)
        case "standup_open":
            if timer.data["user"] not in st.answers:
                t.prompt_participant(step, timer.data["user"])
        case "deadline":
            st.overdue = True
            escalate_to = getattr(step, "escalate_to", None) or t.workflow.conductor
            to = principals_of(t.workflow, [escalate_to], t.state.started_by) if escalate_to else []
            t.thread("overdue", step_id, "", tuple(to), title=step.title, due=format_duration(step.due) if getattr(step, "due", None) else None)
            t.audit("overdue", step_id=step_id)
        case "retry" | "scheduled_start":
            t.start_try(step_id)
        case "timeout":
            assert isinstance(step, AutomationStep)
            t.automation_failed(step_id, f"timed out after {format_duration(step.timeout)}", retryable=True)
        case "wait":
            t.finish(step_id, StepStatus.COMPLETED, outputs={})
        case "close":
            t.close_standup(step_id)
        case _:
            raise Refusal("unknown_timer", f"unknown timer kind `{timer.kind}`")


# --- the run ------------------------------------------------------------------------------------
def _cancel(t: Transition, e: ev.Cancel) -> None:
    _require(t, e.actor, "cancel")
    t.end_run(RunStatus.CANCELLED, e.reason or None, actor=e.actor)


def _abort(t: Transition, e: ev.Abort) -> None:
    _require(t, e.actor, "cancel")
    t.end_run(RunStatus.FAILED, e.reason or "aborted", actor=e.actor)


_HANDLERS: dict[type, Any] = {
    ev.Answer: _answer, ev.Approve: _approve, ev.Reject: _reject, ev.Decide: _decide,
    ev.StandupAnswer: _standup_answer, ev.StandupReply: _standup_reply, ev.Reassign: _reassign,
    ev.AutomationSucceeded: _succeeded, ev.AutomationFailed: _failed, ev.TakeOver: _take_over,
    ev.RetryNow: _retry_now, ev.Skip: _skip, ev.Recover: _recover, ev.TimerFired: _timer,
    ev.Cancel: _cancel, ev.Abort: _abort,
}

__all__ = ["Accepted", "Message", "Outcome", "Refused", "advance", "may", "start_run"]
