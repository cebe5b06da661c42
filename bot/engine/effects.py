"""What the engine asks the outside world to do. Effects are data; adapters carry them out.

Messages name *what* to say (one class per kind, see `bot.engine.messages`); the Slack layer
decides how it looks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.engine.messages import Destination, Message, MessageBase


@dataclass(frozen=True)
class UpdateHeader:
    """The run's header message (workflow, phase, progress) should show the new state."""


@dataclass(frozen=True)
class SetTimer:
    key: str
    kind: str
    step_id: str | None
    due_at: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClearTimer:
    key: str


@dataclass(frozen=True)
class RunAutomation:
    step_id: str
    attempt: int
    try_number: int
    idempotency_key: str  # the same for every try of one attempt
    params: dict[str, Any] = field(default_factory=dict)  # rendered `with` (secrets still as references)


@dataclass(frozen=True)
class RunShadow:
    """Run a person step's shadow beside it, in a sandbox; its result comes back as an event."""

    step_id: str
    attempt: int
    key: str  # the clock's row, and the key the result is applied under
    params: dict[str, Any] = field(default_factory=dict)  # rendered `with`/`run`/`env`/`http`
    lease_seconds: int = 120  # a claim older than this was lost with its process: run it again


@dataclass(frozen=True)
class RecordCase:
    """A person's outputs beside a candidate's (a shadow's) or an automation's failure (a take-over)."""

    step_id: str
    attempt: int
    source: str  # shadow, take_over
    inputs: dict[str, Any]
    person: dict[str, Any]
    actor: str | None
    candidate: dict[str, Any] | None = None
    candidate_status: str | None = None  # ok, failed, timed_out, not_sent
    candidate_error: str | None = None
    agreed: bool | None = None  # None: nothing to judge (an `http` shadow is never sent)
    fields: dict[str, Any] = field(default_factory=dict)  # per field: mode, agree, person, candidate


@dataclass(frozen=True)
class Audit:
    type: str
    actor: str | None = None
    step_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StartRun:
    """Start another run (a stand-up blocker's handoff); `key` makes it happen once."""

    workflow_id: str
    inputs: dict[str, Any]
    key: str


Effect = Message | UpdateHeader | SetTimer | ClearTimer | RunAutomation | Audit | StartRun | RunShadow | RecordCase

__all__ = ["Audit", "ClearTimer", "Destination", "Effect", "Message", "MessageBase", "RecordCase", "RunAutomation",
           "RunShadow", "SetTimer", "StartRun", "UpdateHeader"]
