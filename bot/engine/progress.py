"""How a run moves: starting steps, finishing them, following the flow, ending the run.

A `Transition` holds one event's work in progress: a private copy of the state, the time,
and the effects produced so far. Handlers in `machine.py` call these operations; what they
refuse is raised as one of `bot.engine.refusals`.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, assert_never
from zoneinfo import ZoneInfo

from bot.definitions import templates
from bot.definitions.flow import FlowGraph, build_flow
from bot.definitions.steps import END, ApprovalStep, AutomationStep, GateStep, StandupStep, TaskStep
from bot.definitions.values import SLACK_USER_OR_GROUP
from bot.definitions.workflow import Workflow
from bot.engine import standup_flow
from bot.engine.context import render_text, render_value, template_context
from bot.engine.effects import Audit, ClearTimer, Effect, RunAutomation, SetTimer, UpdateHeader
from bot.engine.messages import (
    ApprovalRequest,
    AskPerson,
    DecisionRequest,
    Destination,
    Escalated,
    Escalation,
    Message,
    Post,
    RunFinished,
    StepFinished,
)
from bot.engine.permissions import Directory, principals, principals_of
from bot.engine.state import RunState, RunStatus, StepState, StepStatus, TimerState
from bot.engine.timing import backoff_delay, next_time_of_day

_FLOWS: dict[int, tuple[Workflow, FlowGraph]] = {}


def choices(step: GateStep) -> tuple[str, ...]:
    """A decided gate's choices as people see them: each route's label, else its target."""
    return tuple(route.label or route.goto for route in step.routes)


def flow_of(workflow: Workflow) -> FlowGraph:
    """The workflow's flow graph, built once per loaded definition."""
    cached = _FLOWS.get(id(workflow))
    if cached is None or cached[0] is not workflow:
        cached = (workflow, build_flow(workflow))
        _FLOWS[id(workflow)] = cached
    return cached[1]


class Transition:
    def __init__(self, workflow: Workflow, state: RunState, now: datetime, directory: Directory):
        self.workflow = workflow
        self.state = state
        self.now = now
        self.directory = directory
        self.effects: list[Effect] = []
        self.index = {step.id: n for n, step in enumerate(workflow.steps)}

    # --- small helpers -----------------------------------------------------------------------
    def emit(self, effect: Effect) -> None:
        self.effects.append(effect)

    def audit(self, kind: str, actor: str | None = None, step_id: str | None = None, **payload: Any) -> None:
        self.emit(Audit(kind, actor, step_id, payload))

    def context(self) -> dict[str, Any]:
        return template_context(self.workflow, self.state)

    def step_state(self, step_id: str) -> StepState:
        return self.state.steps[step_id]

    def set_timer(self, kind: str, step_id: str | None, due_at: datetime, suffix: object = 0, **data: Any) -> str:
        attempt = self.state.steps[step_id].attempt if step_id else 0
        key = f"{self.state.run_id}:{step_id or '-'}:{attempt}:{kind}:{suffix}"
        self.state.timers[key] = TimerState(key, kind, step_id, due_at, dict(data))
        self.emit(SetTimer(key, kind, step_id, due_at, dict(data)))
        return key

    def clear_timer(self, key: str) -> None:
        if self.state.timers.pop(key, None) is not None:
            self.emit(ClearTimer(key))

    def clear_step_timers(self, step_id: str, kind: str | None = None) -> None:
        for key, timer in list(self.state.timers.items()):
            if timer.step_id == step_id and (kind is None or timer.kind == kind):
                self.clear_timer(key)

    # --- starting steps ----------------------------------------------------------------------
    def activate(self, step_id: str) -> None:
        step = self.workflow.step(step_id)
        st = self.state.steps[step_id]
        st.attempt += 1
        st.tries = 0
        st.status = StepStatus.PENDING
        st.outputs = st.error = st.route = st.actor = st.reason = None
        st.approvals, st.answers, st.assignees, st.overdue = [], {}, [], False
        st.closes, st.late, st.away, st.drafts = {}, [], [], {}
        st.started_at, st.finished_at = self.now, None
        context = self.context()
        if step.if_ is not None and not self.holds(step.if_, context, step_id):
            self.finish(step_id, StepStatus.SKIPPED, reason="its condition did not hold")
            return
        self.audit("step_started", step_id=step_id, attempt=st.attempt)
        match step:
            case TaskStep():
                st.assignees = self.resolve_person(step.ask, context)
                self.wait_on_people(step, st, AskPerson(
                    step_id=step.id, to=tuple(st.assignees), title=step.title,
                    text=render_text(step.prompt, context), fields=tuple(step.outputs)))
            case ApprovalStep():
                st.assignees = principals_of(self.workflow, step.approvers, self.state.started_by)
                self.wait_on_people(step, st, ApprovalRequest(
                    step_id=step.id, to=tuple(st.assignees), title=step.title,
                    text=render_text(step.prompt, context), fields=tuple(step.outputs)))
            case GateStep():
                if step.decide is None:
                    self.choose_route(step, context)
                else:
                    st.assignees = self.resolve_person(step.decide, context)
                    self.wait_on_people(step, st, DecisionRequest(
                        step_id=step.id, to=tuple(st.assignees), title=step.title,
                        text=render_text(step.prompt, context), options=choices(step)))
            case AutomationStep():
                self.start_automation(step, st)
            case StandupStep():
                self.start_standup(step, st, context)
            case _:
                assert_never(step)

    def holds(self, condition: str, context: dict[str, Any], step_id: str) -> bool:
        """Whether a condition holds. One that cannot be evaluated (a comparison with a value
        that is missing, a skipped step's output) does not hold; the audit says why."""
        try:
            return templates.evaluate(condition, context)
        except Exception as exc:  # noqa: BLE001 - a condition is data; it must not stop the run
            self.audit("condition_unevaluable", step_id=step_id, condition=condition, error=str(exc)[:300])
            return False

    def resolve_person(self, who: str, context: dict[str, Any]) -> list[str]:
        """A role, `starter`, a user ID, or a template that renders to a user ID."""
        if templates.is_template(who):
            rendered = render_text(who, context).strip()
            if SLACK_USER_OR_GROUP.match(rendered):
                return [rendered]
            # Nobody to ask: hand it to whoever conducts, so the run does not stall unseen.
            fallback = self.workflow.conductor or "starter"
            self.audit("assignee_unresolved", template=who, rendered=rendered, fallback=fallback)
            return principals(self.workflow, fallback, self.state.started_by)
        return principals(self.workflow, who, self.state.started_by)

    def wait_on_people(self, step: TaskStep | ApprovalStep | GateStep, st: StepState, asking: Message) -> None:
        st.status = StepStatus.WAITING_ON_PERSON
        self.emit(asking)
        if step.shadow is not None:
            from bot.engine import shadow

            shadow.start(self, step)
        due = getattr(step, "due", None)
        for n, offset in enumerate(getattr(step, "remind", [])):
            if due is None or offset < due:
                self.set_timer("reminder", step.id, self.now + offset, n, n=n)
        if due is not None:
            self.set_timer("deadline", step.id, self.now + due)

    def choose_route(self, step: GateStep, context: dict[str, Any]) -> None:
        for route in step.routes:
            if route.if_ is not None and self.holds(route.if_, context, step.id):
                self.finish(step.id, StepStatus.COMPLETED, route=route.goto)
                return
        index = self.index[step.id]
        following = self.workflow.steps[index + 1] if index + 1 < len(self.workflow.steps) else None
        # Like any step, a gate does not fall through into a step that waits on `needs`.
        fall_through = following.id if following is not None and not following.needs else END
        self.finish(step.id, StepStatus.COMPLETED, route=step.default or fall_through)

    def start_automation(self, step: AutomationStep, st: StepState) -> None:
        if step.at is not None or step.after is not None:
            st.status = StepStatus.SCHEDULED
            self.set_timer("scheduled_start", step.id, self.start_time(step))
            return
        self.start_try(step.id)

    def start_time(self, step: AutomationStep) -> datetime:
        if step.after is not None:
            return self.now + step.after
        assert step.at is not None
        if not templates.is_template(step.at):
            hours, minutes = (int(part) for part in step.at.split(":"))
            return next_time_of_day(self.now, time(hours, minutes), self.workflow.timezone)
        rendered = render_text(step.at, self.context()).strip()
        try:
            when = datetime.fromisoformat(rendered)
        except ValueError:
            self.audit("start_time_unreadable", step_id=step.id, rendered=rendered)
            return self.now  # start now rather than never; the audit says why
        return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(self.workflow.timezone))

    def start_try(self, step_id: str) -> None:
        step = self.workflow.step(step_id)
        assert isinstance(step, AutomationStep)
        st = self.state.steps[step_id]
        st.tries += 1
        st.status = StepStatus.RUNNING
        st.error = None
        try:
            params = render_value(
                {"with": step.with_, "run": step.run, "env": step.env,
                 "http": step.http.model_dump(by_alias=True) if step.http else None},
                self.context(),
            )
        except Exception as exc:  # noqa: BLE001 - a template that cannot render is a failure, not a crash
            self.automation_failed(step_id, f"could not prepare the step's values: {exc}", retryable=False)
            return
        if step.uses in ("conductor/post", "conductor/wait"):
            # A built-in posts to people: a secret reference shows as written, never resolved.
            self.run_builtin(step, st, templates.shown(params["with"]))
            return
        key = f"{self.state.run_id}:{step_id}:{st.attempt}"
        self.emit(RunAutomation(step_id, st.attempt, st.tries, key, params))
        self.set_timer("timeout", step_id, self.now + step.timeout, st.tries, try_number=st.tries)

    def run_builtin(self, step: AutomationStep, st: StepState, params: dict[str, Any]) -> None:
        """Built-ins need no code outside the engine: a message is an outbox row, a wait a timer."""
        if step.uses == "conductor/post":
            # Without a `channel`, the message goes to the run's own thread.
            channel = str(params["channel"]) if params.get("channel") else None
            destination: Destination = "channel" if channel else "thread"
            self.emit(Post(destination=destination, step_id=step.id, text=str(params.get("text", "")), channel=channel))
            self.finish(step.id, StepStatus.COMPLETED, outputs={})
            return
        from bot.definitions.values import parse_duration

        try:
            delay = parse_duration(params.get("for", "1m"))
        except Exception:  # noqa: BLE001
            self.automation_failed(step.id, f"`for: {params.get('for')}` is not a duration", retryable=False)
            return
        st.status = StepStatus.SCHEDULED
        self.set_timer("wait", step.id, self.now + delay)

    def start_standup(self, step: StandupStep, st: StepState, context: dict[str, Any]) -> None:
        standup_flow.start(self, step, st, context)

    def prompt_participant(self, step: StandupStep, user: str, context: dict[str, Any] | None = None) -> None:
        standup_flow.prompt(self, step, user, context)

    def close_standup(self, step_id: str) -> None:
        standup_flow.close(self, step_id)

    # --- failures of automations -------------------------------------------------------------
    def automation_failed(self, step_id: str, error: str, *, retryable: bool, tail: str = "") -> None:
        step = self.workflow.step(step_id)
        assert isinstance(step, AutomationStep)
        st = self.state.steps[step_id]
        st.error = error
        self.clear_step_timers(step_id, "timeout")
        self.audit("automation_failed", step_id=step_id, error=error, retryable=retryable, try_number=st.tries)
        if retryable and st.tries < step.retry.attempts:
            st.status = StepStatus.RETRY_WAIT
            delay = backoff_delay(step, self.state.run_id, st.attempt, st.tries)
            self.set_timer("retry", step_id, self.now + delay, st.tries)
            return
        match step.on_failure:
            case "escalate":
                self.escalate(step, st, error, tail)
            case "skip":
                self.finish(step_id, StepStatus.SKIPPED, reason=error)
            case "fail":
                st.status = StepStatus.FAILED
                st.finished_at = self.now
                self.end_run(RunStatus.FAILED, f"step `{step_id}` failed: {error}")

    def escalate(self, step: AutomationStep, st: StepState, error: str, tail: str) -> None:
        st.status = StepStatus.ESCALATED
        st.error = error
        takers = [step.escalate_to] if step.escalate_to else self.workflow.permissions.roles_for("take_over")
        to = tuple(principals_of(self.workflow, takers, self.state.started_by))
        self.emit(Escalation(step_id=step.id, to=to, title=step.title, error=error, output_tail=tail[-1500:],
                             tries=st.tries, fields=tuple(step.outputs)))
        self.emit(Escalated(step_id=step.id, title=step.title, error=error))
        self.audit("escalated", step_id=step.id, error=error)

    # --- finishing steps and following the flow ----------------------------------------------
    def finish(self, step_id: str, status: StepStatus, *, outputs: dict[str, Any] | None = None,
               actor: str | None = None, reason: str | None = None, route: str | None = None) -> None:
        st = self.state.steps[step_id]
        st.status = status
        st.outputs = outputs if status == StepStatus.COMPLETED else None
        st.actor, st.reason, st.finished_at = actor, reason, self.now
        if route is not None:
            st.route = route
        self.clear_step_timers(step_id)
        self.audit(f"step_{status.value}", actor, step_id, reason=reason, route=route)
        step = self.workflow.step(step_id)
        # People see their own steps confirmed in the thread; automated progress shows in the
        # header (one message edited in place), so a chain of automations does not flood it.
        if step.family == "orchestral" or (isinstance(step, GateStep) and step.decide is not None) or actor is not None:
            self.emit(StepFinished(step_id=step_id, title=step.title, status=status.value, actor=actor, reason=reason))
        self.follow(step_id)

    def follow(self, step_id: str) -> None:
        step = self.workflow.step(step_id)
        st = self.state.steps[step_id]
        index = self.index[step_id]
        targets: list[str] = []
        if step.next is not None:
            targets.append(step.next)
        elif isinstance(step, GateStep) and st.status == StepStatus.COMPLETED and st.route:
            targets.append(st.route)
        elif index + 1 < len(self.workflow.steps) and not self.workflow.steps[index + 1].needs:
            targets.append(self.workflow.steps[index + 1].id)
        for other in self.workflow.steps:
            if step_id in other.needs and self.state.steps[other.id].status == StepStatus.PENDING and all(
                self.state.steps[n].finished for n in other.needs
            ):
                targets.append(other.id)
        for target in targets:
            self.go(step_id, target)

    def go(self, source: str, target: str) -> None:
        if target == END or self.state.final:
            return
        if self.index[target] <= self.index[source]:
            self.loop_back(target, source)
            self.activate(target)
        elif self.state.steps[target].status == StepStatus.PENDING:
            self.activate(target)

    def loop_back(self, target: str, source: str) -> None:
        """Going back: `target` and the steps after it that depend on it, up to `source`, will
        run again. A parallel step that does not follow from `target` keeps its result."""
        downstream = self.downstream(target)
        for step in self.workflow.steps[self.index[target] : self.index[source] + 1]:
            if step.id != target and step.id not in downstream:
                continue
            st = self.state.steps[step.id]
            if st.active:
                self.clear_step_timers(step.id)
            st.status = StepStatus.PENDING
        self.audit("looped_back", step_id=target, source=source)

    def downstream(self, step_id: str) -> set[str]:
        flow = flow_of(self.workflow)
        seen: set[str] = set()
        todo = [step_id]
        while todo:
            for target in flow.successors(todo.pop(), forward_only=True):
                if target != END and target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    def settle(self) -> None:
        """After an event: join what ran, end the run when nothing is left, set its status."""
        while not self.state.final:
            if any(st.active for st in self.state.steps.values()):
                running = any(st.status == StepStatus.RUNNING for st in self.state.steps.values())
                self.state.status = RunStatus.RUNNING if running else RunStatus.WAITING
                return
            joinable = [
                step.id for step in self.workflow.steps
                if step.needs and self.state.steps[step.id].status == StepStatus.PENDING
                and any(self.state.steps[n].finished for n in step.needs)
                and not any(self.state.steps[n].active for n in step.needs)
            ]
            if not joinable:
                self.end_run(RunStatus.COMPLETED, None)
                return
            # Some needed steps were on a path the run did not take: go on with those that ran.
            self.audit("joined_partially", step_id=joinable[0])
            self.activate(joinable[0])

    def end_run(self, status: RunStatus, reason: str | None, *, actor: str | None = None) -> None:
        for st in self.state.steps.values():
            if st.active:
                st.status = StepStatus.CANCELLED
                st.finished_at = self.now
        for key in list(self.state.timers):
            self.clear_timer(key)
        self.state.status = status
        self.state.finished_at = self.now
        self.state.reason = reason
        self.emit(RunFinished(status=status.value, reason=reason, actor=actor))
        self.audit(f"run_{status.value}", actor, reason=reason)
        self.emit(UpdateHeader())
