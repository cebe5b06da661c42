"""What can happen to a run. Each event carries its actor (a Slack user ID, or None for the
system: the clock and the automation runner), so the engine can decide whether it is allowed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Answer:
    """A person hands off a step's outputs."""

    step_id: str
    actor: str
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Approve:
    step_id: str
    actor: str
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reject:
    step_id: str
    actor: str
    reason: str = ""


@dataclass(frozen=True)
class Decide:
    """A person chooses a gate's route (by its `goto` or its label)."""

    step_id: str
    actor: str
    choice: str


@dataclass(frozen=True)
class StandupAnswer:
    step_id: str
    actor: str
    answers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StandupReply:
    """One plain DM reply: the answer to the participant's next unanswered question."""

    step_id: str
    actor: str
    text: str


@dataclass(frozen=True)
class AutomationSucceeded:
    step_id: str
    attempt: int
    try_number: int
    outputs: dict[str, Any] = field(default_factory=dict)
    actor: None = None


@dataclass(frozen=True)
class AutomationFailed:
    step_id: str
    attempt: int
    try_number: int
    error: str
    retryable: bool = True
    output_tail: str = ""
    actor: None = None


@dataclass(frozen=True)
class TimerFired:
    key: str
    actor: None = None


@dataclass(frozen=True)
class TakeOver:
    """A person does a failed automation's work by hand: their outputs complete the step."""

    step_id: str
    actor: str
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RetryNow:
    step_id: str
    actor: str


@dataclass(frozen=True)
class Skip:
    step_id: str
    actor: str
    reason: str = ""


@dataclass(frozen=True)
class Reassign:
    step_id: str
    actor: str
    assignee: str  # a Slack user ID


@dataclass(frozen=True)
class AskForHelp:
    """Someone stuck on a step asks whoever conducts the workflow: a note in the run's thread;
    the run itself does not move."""

    step_id: str
    actor: str


@dataclass(frozen=True)
class Abort:
    """Stop a run whose automation failed: the run ends as failed."""

    actor: str
    reason: str = ""


@dataclass(frozen=True)
class Cancel:
    actor: str
    reason: str = ""


@dataclass(frozen=True)
class Recover:
    """After a restart: a step was found `running` with no process working on it."""

    step_id: str
    actor: None = None


@dataclass(frozen=True)
class ShadowFinished:
    """A shadow's candidate has finished (`status`: ok, failed, timed_out, not_sent). Beside the
    run: it never moves it, and is applied even after the run has ended."""

    step_id: str
    attempt: int
    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    actor: None = None


# Closed: `machine.advance` matches every member, so a new event without a handler is a type error.
Event = (
    Answer | Approve | Reject | Decide | StandupAnswer | StandupReply | AutomationSucceeded | AutomationFailed
    | TimerFired | TakeOver | RetryNow | Skip | Reassign | AskForHelp | Abort | Cancel | Recover | ShadowFinished
)


def describe(event: Event) -> dict[str, Any]:
    """The event as audit data: its type and fields."""
    return {"type": type(event).__name__, **asdict(event)}
