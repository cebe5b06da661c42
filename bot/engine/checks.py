"""What every handler asks before it changes a run: may this person do it, is the step there
and waiting for it, is it theirs, do the outputs fit. Each check raises the refusal that
says why not (see `bot.engine.refusals`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.definitions.fields import FieldSpec
from bot.definitions.workflow import Workflow
from bot.engine.handoff import check_outputs
from bot.engine.permissions import Directory, is_member, principals_of
from bot.engine.refusals import (
    InvalidOutputs,
    NotAllowed,
    NotWaiting,
    NotYours,
    UnknownStep,
    WrongStep,
)
from bot.engine.state import RunState, StepState, StepStatus

if TYPE_CHECKING:
    from bot.engine.progress import Transition

WAITING = (StepStatus.WAITING_ON_PERSON,)


def may(workflow: Workflow, state: RunState | None, actor: str | None, action: str, directory: Directory) -> bool:
    """Whether `actor` may do a workflow-level `action` (start, cancel, take_over, skip, retry, reassign)."""
    roles = workflow.permissions.roles_for(action)
    allowed = principals_of(workflow, roles, state.started_by if state else None)
    if workflow.conductor and action != "start":
        allowed += principals_of(workflow, [workflow.conductor], None)
    return is_member(actor, allowed, directory)


def require(t: Transition, actor: str | None, action: str) -> None:
    if not may(t.workflow, t.state, actor, action, t.directory):
        raise NotAllowed(action, tuple(t.workflow.permissions.roles_for(action)), t.workflow.id)


def step_of(t: Transition, step_id: str, kinds: tuple[type, ...], statuses: tuple[StepStatus, ...]) -> tuple[Any, StepState]:
    """The step and its state, when it is one of `kinds` and in one of `statuses`."""
    if step_id not in t.state.steps:
        raise UnknownStep(step_id)
    step = t.workflow.step(step_id)
    st = t.state.steps[step_id]
    if not isinstance(step, kinds):
        raise WrongStep(step.title)
    if st.status not in statuses:
        raise NotWaiting(step.title, st.status.value)
    return step, st


def must_be_assignee(t: Transition, st: StepState, actor: str, what: str) -> None:
    if not is_member(actor, st.assignees, t.directory):
        raise NotYours(what)


def valid_outputs(fields: dict[str, FieldSpec], data: dict[str, Any]) -> dict[str, Any]:
    """`data` checked against `fields`, as clean JSON-ready values; refused field by field."""
    clean, problems = check_outputs(fields, data)
    if clean is None:
        raise InvalidOutputs(problems)
    return clean
