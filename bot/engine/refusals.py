"""Why the engine will not do something: one class per reason, each carrying its own words.

A refusal has a stable `code` (audit rows, Slack replies and tests match on it), a `text`
shown to the person (also as `reason`, the name the audit payload and older callers use),
and, for forms, `field_errors`. Each class keeps the facts its sentence is built from, so the
wording lives here, once, and callers can still look at what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from bot.engine.handoff import describe_problems


class Refusal(Exception):
    """An event the engine will not apply, with a sentence a person can read."""

    code: ClassVar[str]
    says: ClassVar[str] = ""  # the sentence, with the refusal's own fields in braces

    @property
    def text(self) -> str:
        return self.says.format_map(vars(self))

    @property
    def reason(self) -> str:
        return self.text

    @property
    def field_errors(self) -> dict[str, str]:
        return {}

    def __str__(self) -> str:
        return self.text


# Subclasses are dataclasses for their fields; eq=False keeps exceptions hashable by identity.
def _spoken(value: str) -> str:
    return value.replace("_", " ")


# --- who may --------------------------------------------------------------------------------
@dataclass(eq=False)
class MayNotStart(Refusal):
    code: ClassVar[str] = "not_allowed"
    workflow_id: str

    says: ClassVar[str] = "you may not start `{workflow_id}`"


@dataclass(eq=False)
class NotAllowed(Refusal):
    """A workflow-level action (cancel, take over, skip, retry, reassign) kept for some roles."""

    code: ClassVar[str] = "not_allowed"
    action: str
    roles: tuple[str, ...]
    workflow_id: str

    @property
    def text(self) -> str:
        if not self.roles:
            return f"you may not {_spoken(self.action)} in `{self.workflow_id}`"
        return f"only {', '.join(self.roles)} may {_spoken(self.action)} in `{self.workflow_id}`"


@dataclass(eq=False)
class NotYours(Refusal):
    """Someone acts on a step that waits on other people."""

    code: ClassVar[str] = "not_allowed"
    what: str  # step, approval, decision, stand-up

    says: ClassVar[str] = "this {what} is not yours"


@dataclass(eq=False)
class NotAllowedTo(Refusal):
    """Something outside the engine's events (reloading workflows, steering a stand-up's
    schedule) was refused by its caller, in the caller's words; audited like the rest."""

    code: ClassVar[str] = "not_allowed"
    asked: str
    said: str

    @property
    def text(self) -> str:
        return self.said


# --- what was given -------------------------------------------------------------------------
@dataclass(eq=False)
class _FieldProblems(Refusal):
    """Values that do not fit their fields: each problem by its field, for the form."""

    problems: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return describe_problems(self.problems)

    @property
    def field_errors(self) -> dict[str, str]:
        return dict(self.problems)


@dataclass(eq=False)
class InvalidInputs(_FieldProblems):
    code: ClassVar[str] = "invalid_inputs"


@dataclass(eq=False)
class InvalidOutputs(_FieldProblems):
    code: ClassVar[str] = "invalid_outputs"


@dataclass(eq=False)
class InvalidChoice(Refusal):
    code: ClassVar[str] = "invalid_choice"
    choice: str

    says: ClassVar[str] = "`{choice}` is not one of the choices"


@dataclass(eq=False)
class InvalidAssignee(Refusal):
    code: ClassVar[str] = "invalid_assignee"
    assignee: str

    says: ClassVar[str] = "`{assignee}` is not a Slack user"


@dataclass(eq=False)
class AlreadyApproved(Refusal):
    code: ClassVar[str] = "duplicate"

    says: ClassVar[str] = "you have already approved this"


# --- where the run is -----------------------------------------------------------------------
@dataclass(eq=False)
class UnknownRun(Refusal):
    code: ClassVar[str] = "unknown_run"
    run_id: str

    says: ClassVar[str] = "there is no run `{run_id}`"


@dataclass(eq=False)
class UnknownWorkflow(Refusal):
    code: ClassVar[str] = "unknown_workflow"
    workflow_id: str
    said: str = ""  # what the workflow versions said (which workflows they know)

    @property
    def text(self) -> str:
        return self.said or f"no workflow `{self.workflow_id}`"


@dataclass(eq=False)
class RunFinished(Refusal):
    code: ClassVar[str] = "run_finished"
    status: str  # completed, failed, cancelled

    says: ClassVar[str] = "this run has already {status}"


@dataclass(eq=False)
class UnknownStep(Refusal):
    code: ClassVar[str] = "unknown_step"
    step_id: str

    says: ClassVar[str] = "there is no step `{step_id}` in this run"


@dataclass(eq=False)
class WrongStep(Refusal):
    """The event is for another kind of step (an approval sent to a task)."""

    code: ClassVar[str] = "wrong_step"
    step_title: str

    says: ClassVar[str] = "`{step_title}` cannot take that action"


@dataclass(eq=False)
class DecidesByItself(Refusal):
    """A person's choice sent to a gate that routes on the run's data."""

    code: ClassVar[str] = "wrong_step"
    step_title: str

    says: ClassVar[str] = "`{step_title}` decides by itself"


@dataclass(eq=False)
class NotWaiting(Refusal):
    code: ClassVar[str] = "not_waiting"
    step_title: str
    status: str  # the step's status value

    @property
    def text(self) -> str:
        return f"`{self.step_title}` is {_spoken(self.status)}, not waiting for that"


@dataclass(eq=False)
class NotInProgress(Refusal):
    """Help asked for a step that is not under way (pending, or already finished)."""

    code: ClassVar[str] = "not_waiting"
    step_title: str
    status: str

    @property
    def text(self) -> str:
        return f"`{self.step_title}` is not in progress (it is {_spoken(self.status)})"


# --- late and lost signals ------------------------------------------------------------------
@dataclass(eq=False)
class StaleResult(Refusal):
    """An automation's result for a try that is no longer the current one."""

    code: ClassVar[str] = "stale"
    attempt: int
    try_number: int

    says: ClassVar[str] = "a late result of an earlier try was ignored"


@dataclass(eq=False)
class StaleTimer(Refusal):
    code: ClassVar[str] = "stale"
    key: str

    says: ClassVar[str] = "that timer is no longer set"


@dataclass(eq=False)
class UnknownTimer(Refusal):
    code: ClassVar[str] = "unknown_timer"
    kind: str

    says: ClassVar[str] = "unknown timer kind `{kind}`"


REFUSALS: tuple[type[Refusal], ...] = (
    MayNotStart, NotAllowed, NotYours, NotAllowedTo, InvalidInputs, InvalidOutputs, InvalidChoice,
    InvalidAssignee, AlreadyApproved, UnknownRun, UnknownWorkflow, RunFinished, UnknownStep, WrongStep,
    DecidesByItself, NotWaiting, NotInProgress, StaleResult, StaleTimer, UnknownTimer,
)
