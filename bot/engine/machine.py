"""The conductor's core: `advance(workflow, state, event, now, directory) -> outcome`.

Pure: no database, no Slack, no clock. The state given is never changed; an accepted event
returns a new state and the effects to carry out, a refused one returns why (and an audit
effect, because refusals are recorded too). Events are a closed union matched exhaustively in
`advance`; each refusal is a class of `bot.engine.refusals` that says its own sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, assert_never

from bot.definitions.steps import ApprovalStep, AutomationStep, GateStep, StandupStep, TaskStep
from bot.definitions.values import format_duration
from bot.definitions.workflow import Workflow
from bot.engine import events as ev
from bot.engine import review, shadow, standup_flow
from bot.engine.checks import WAITING, may, must_be_assignee, require, step_of, valid_outputs
from bot.engine.effects import Audit, Effect, Message, UpdateHeader
from bot.engine.handoff import check_outputs, describe_problems
from bot.engine.messages import (
    ApprovalProgress,
    AskPerson,
    DecisionRequest,
    HelpRequested,
    Overdue,
    Rejected,
    Reminder,
    RunStarted,
)
from bot.engine.permissions import Directory, is_member, principals_of
from bot.engine.progress import Transition, choices
from bot.engine.refusals import (
    AlreadyApproved,
    DecidesByItself,
    InvalidAssignee,
    InvalidChoice,
    InvalidInputs,
    MayNotStart,
    NotInProgress,
    Refusal,
    RunFinished,
    StaleResult,
    StaleTimer,
    UnknownStep,
    UnknownTimer,
)
from bot.engine.state import RunState, RunStatus, StepState, StepStatus

SYSTEM_EVENTS = (ev.AutomationSucceeded, ev.AutomationFailed, ev.TimerFired, ev.Recover, ev.ShadowFinished)


@dataclass
class Accepted:
    state: RunState
    effects: list[Effect]


@dataclass
class Refused:
    """Why the event was not applied, and the audit row that records it."""

    refusal: Refusal
    effects: list[Audit] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.refusal.code

    @property
    def reason(self) -> str:
        return self.refusal.text

    @property
    def field_errors(self) -> dict[str, str]:
        return self.refusal.field_errors


Outcome = Accepted | Refused


def start_run(
    workflow: Workflow, *, run_id: str, version: str, actor: str | None, inputs: dict[str, Any],
    now: datetime, directory: Directory,
) -> Outcome:
    """Start a run. `actor` None means the system (a schedule or a signed webhook)."""
    if actor is not None and not may(workflow, None, actor, "start", directory):
        return refuse(MayNotStart(workflow.id), actor, None, {"type": "Start"})
    clean, problems = check_outputs(workflow.inputs, inputs)
    if clean is None:
        return refuse(InvalidInputs(problems), actor, None, {"type": "Start"})
    state = RunState(run_id=run_id, workflow_id=workflow.id, version=version, started_by=actor, started_at=now, inputs=clean)
    state.steps = {step.id: StepState() for step in workflow.steps}
    state.seq = 1
    t = Transition(workflow, state, now, directory)
    t.audit("run_started", actor, inputs=clean)
    t.emit(RunStarted(to=(actor,) if actor else (), workflow=workflow.title))
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
    if isinstance(event, ev.ShadowFinished):
        # Beside the run: only the shadow's slot changes (no message, no header, no timer),
        # and a run that has ended still has its last comparison recorded.
        t = Transition(workflow, state if owned else state.clone(), now, directory)
        try:
            shadow.finished(t, event)
        except Refusal as refusal:
            return refuse(refusal, actor, step_id, described)
        return Accepted(t.state, t.effects)
    if state.final:
        return refuse(RunFinished(state.status.value), actor, step_id, described)
    t = Transition(workflow, state if owned else state.clone(), now, directory)
    try:
        _handle(t, event)
    except Refusal as refusal:
        return refuse(refusal, actor, step_id, described)
    t.state.seq += 1
    if isinstance(event, ev.AskForHelp):
        # A note beside the run: its own audit row records it, and the header has nothing new.
        return Accepted(t.state, t.effects)
    if not isinstance(event, SYSTEM_EVENTS) or isinstance(event, ev.Recover):
        t.effects.insert(0, Audit("accepted", actor, step_id, described))
    t.settle()
    if not any(isinstance(e, UpdateHeader) for e in t.effects):
        t.emit(UpdateHeader())
    return Accepted(t.state, t.effects)


def refuse(refusal: Refusal, actor: str | None, step_id: str | None, described: dict[str, Any]) -> Refused:
    """A refusal with its audit row (`{"code", "reason", "event"}`, as every release wrote it)."""
    audit = Audit("refused", actor, step_id, {"code": refusal.code, "reason": refusal.reason, "event": described})
    return Refused(refusal, [audit])


def _handle(t: Transition, event: ev.Event) -> None:
    match event:
        case ev.Answer():
            _answer(t, event)
        case ev.Approve():
            _approve(t, event)
        case ev.Reject():
            _reject(t, event)
        case ev.Decide():
            _decide(t, event)
        case ev.StandupAnswer():
            standup_flow.answer(t, event)
        case ev.StandupReply():
            standup_flow.reply(t, event)
        case ev.Reassign():
            _reassign(t, event)
        case ev.AskForHelp():
            _ask_for_help(t, event)
        case ev.AutomationSucceeded():
            _succeeded(t, event)
        case ev.AutomationFailed():
            _failed(t, event)
        case ev.TakeOver():
            _take_over(t, event)
        case ev.RetryNow():
            _retry_now(t, event)
        case ev.Skip():
            _skip(t, event)
        case ev.Recover():
            _recover(t, event)
        case ev.TimerFired():
            _timer(t, event)
        case ev.Cancel():
            _cancel(t, event)
        case ev.Abort():
            _abort(t, event)
        case ev.ShadowFinished():
            shadow.finished(t, event)
        case _:
            assert_never(event)


# --- people -------------------------------------------------------------------------------------
def _answer(t: Transition, e: ev.Answer) -> None:
    if review.answered(t, e):
        return
    step, st = step_of(t, e.step_id, (TaskStep,), WAITING)
    must_be_assignee(t, st, e.actor, "step")
    outputs = valid_outputs(step.outputs, e.outputs)
    shadow.answered(t, step, outputs, e.actor)
    t.finish(e.step_id, StepStatus.COMPLETED, outputs=outputs, actor=e.actor)


def _approve(t: Transition, e: ev.Approve) -> None:
    step, st = step_of(t, e.step_id, (ApprovalStep,), WAITING)
    must_be_assignee(t, st, e.actor, "approval")
    if e.actor in st.approvals:
        raise AlreadyApproved()
    outputs = valid_outputs(step.outputs, e.outputs)
    st.approvals.append(e.actor)
    if len(st.approvals) >= step.min_approvals:
        shadow.answered(t, step, {"approved": True, **outputs}, e.actor)
        t.finish(e.step_id, StepStatus.COMPLETED, outputs=outputs, actor=e.actor)
    else:
        t.emit(ApprovalProgress(step_id=e.step_id, approvals=tuple(st.approvals), needed=step.min_approvals))


def _reject(t: Transition, e: ev.Reject) -> None:
    step, st = step_of(t, e.step_id, (ApprovalStep,), WAITING)
    must_be_assignee(t, st, e.actor, "approval")
    st.actor, st.reason = e.actor, e.reason or "no reason given"
    shadow.answered(t, step, {"approved": False}, e.actor)
    t.emit(Rejected(step_id=e.step_id, title=step.title, actor=e.actor, reason=st.reason, back_to=step.on_reject))
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
    step, st = step_of(t, e.step_id, (GateStep,), WAITING)
    if step.decide is None:
        raise DecidesByItself(step.title)
    must_be_assignee(t, st, e.actor, "decision")
    for route in step.routes:
        if e.choice in (route.goto, route.label):
            shadow.answered(t, step, {"route": route.goto}, e.actor)
            t.finish(e.step_id, StepStatus.COMPLETED, actor=e.actor, route=route.goto)
            return
    raise InvalidChoice(e.choice)


def _reassign(t: Transition, e: ev.Reassign) -> None:
    if review.reassigned(t, e):
        return
    step, st = step_of(t, e.step_id, (TaskStep, GateStep), WAITING)
    if not is_member(e.actor, st.assignees, t.directory):
        require(t, e.actor, "reassign")
    if not (e.assignee.startswith(("U", "W")) and e.assignee[1:].isalnum()):
        raise InvalidAssignee(e.assignee)
    st.assignees = [e.assignee]
    if isinstance(step, GateStep):
        t.emit(DecisionRequest(step_id=e.step_id, to=(e.assignee,), title=step.title, options=choices(step),
                               reassigned_by=e.actor))
    else:
        t.emit(AskPerson(step_id=e.step_id, to=(e.assignee,), title=step.title, reassigned_by=e.actor,
                         fields=tuple(step.outputs)))


def _ask_for_help(t: Transition, e: ev.AskForHelp) -> None:
    """Asks whoever conducts the workflow (else those who may take over) in the run's thread."""
    if e.step_id not in t.state.steps:
        raise UnknownStep(e.step_id)
    step, st = t.workflow.step(e.step_id), t.state.steps[e.step_id]
    if not st.active:
        raise NotInProgress(step.title, st.status.value)
    helpers = [t.workflow.conductor] if t.workflow.conductor else t.workflow.permissions.roles_for("take_over")
    to = tuple(principals_of(t.workflow, helpers, t.state.started_by))
    t.emit(HelpRequested(step_id=e.step_id, to=to, title=step.title, actor=e.actor))
    t.audit("help_requested", e.actor, e.step_id)


# --- automations --------------------------------------------------------------------------------
def _current_try(t: Transition, e: ev.AutomationSucceeded | ev.AutomationFailed) -> tuple[AutomationStep, StepState]:
    step, st = step_of(t, e.step_id, (AutomationStep,), (StepStatus.RUNNING,))
    if (e.attempt, e.try_number) != (st.attempt, st.tries):
        raise StaleResult(e.attempt, e.try_number)
    return step, st


def _succeeded(t: Transition, e: ev.AutomationSucceeded) -> None:
    step, _ = _current_try(t, e)
    clean, problems = check_outputs(step.outputs, e.outputs)
    if clean is None:
        t.automation_failed(e.step_id, f"returned outputs that do not fit the step: {describe_problems(problems)}", retryable=False)
        return
    if not review.hold(t, step, clean):
        t.finish(e.step_id, StepStatus.COMPLETED, outputs=clean)


def _failed(t: Transition, e: ev.AutomationFailed) -> None:
    _current_try(t, e)
    t.automation_failed(e.step_id, e.error, retryable=e.retryable, tail=e.output_tail)


def _take_over(t: Transition, e: ev.TakeOver) -> None:
    step, _ = step_of(t, e.step_id, (AutomationStep,), (StepStatus.ESCALATED, StepStatus.RETRY_WAIT))
    if not (step.escalate_to and is_member(e.actor, principals_of(t.workflow, [step.escalate_to], None), t.directory)):
        require(t, e.actor, "take_over")
    t.audit("taken_over", e.actor, e.step_id)
    outputs = valid_outputs(step.outputs, e.outputs)
    shadow.taken_over(t, step, outputs, e.actor)
    t.finish(e.step_id, StepStatus.COMPLETED, outputs=outputs, actor=e.actor)


def _retry_now(t: Transition, e: ev.RetryNow) -> None:
    step_of(t, e.step_id, (AutomationStep,), (StepStatus.ESCALATED, StepStatus.RETRY_WAIT))
    require(t, e.actor, "retry")
    t.clear_step_timers(e.step_id)
    t.start_try(e.step_id)


def _skip(t: Transition, e: ev.Skip) -> None:
    active = tuple(s for s in StepStatus if s not in (StepStatus.PENDING, StepStatus.COMPLETED, StepStatus.SKIPPED, StepStatus.FAILED, StepStatus.CANCELLED))
    step_of(t, e.step_id, (TaskStep, ApprovalStep, GateStep, AutomationStep, StandupStep), active)
    require(t, e.actor, "skip")
    t.finish(e.step_id, StepStatus.SKIPPED, actor=e.actor, reason=e.reason or f"skipped by <@{e.actor}>")


def _recover(t: Transition, e: ev.Recover) -> None:
    step, st = step_of(t, e.step_id, (AutomationStep,), (StepStatus.RUNNING,))
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
        raise StaleTimer(e.key)
    step_id = timer.step_id
    st = t.state.steps.get(step_id) if step_id else None
    if step_id is None or st is None:
        return
    step = t.workflow.step(step_id)
    match timer.kind:
        case "reminder" if "user" in timer.data:
            # A stand-up's tiered reminders: a quiet DM first, an @mention in the thread last.
            user = timer.data["user"]
            if user not in st.answers:
                t.emit(Reminder(destination="thread" if timer.data.get("last") else "dm", step_id=step_id, to=(user,),
                                title=step.title, number=timer.data.get("n", 0) + 1, closes=st.closes.get(user)))
        case "reminder":
            waiting_on = [u for u in st.assignees if u not in st.answers and u not in st.approvals]
            t.emit(Reminder(step_id=step_id, to=tuple(waiting_on), title=step.title, number=timer.data.get("n", 0) + 1))
        case "standup_open":
            if timer.data["user"] not in st.answers:
                assert isinstance(step, StandupStep)
                t.prompt_participant(step, timer.data["user"])
        case "deadline":
            st.overdue = True
            escalate_to = getattr(step, "escalate_to", None) or t.workflow.conductor
            to = principals_of(t.workflow, [escalate_to], t.state.started_by) if escalate_to else []
            due = getattr(step, "due", None)
            t.emit(Overdue(step_id=step_id, to=tuple(to), title=step.title, due=format_duration(due) if due else None))
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
            raise UnknownTimer(timer.kind)


# --- the run ------------------------------------------------------------------------------------
def _cancel(t: Transition, e: ev.Cancel) -> None:
    require(t, e.actor, "cancel")
    t.end_run(RunStatus.CANCELLED, e.reason or None, actor=e.actor)


def _abort(t: Transition, e: ev.Abort) -> None:
    require(t, e.actor, "cancel")
    t.end_run(RunStatus.FAILED, e.reason or "aborted", actor=e.actor)


__all__ = ["Accepted", "Message", "Outcome", "Refused", "advance", "may", "refuse", "start_run"]
