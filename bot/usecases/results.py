"""What a use case returns: a closed set of typed results that say what happened and what the
person is told. Adapters render them (Slack's replies, the shell, webhooks' JSON); none of
them needs to know how the engine decided."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.engine.service import Result


@dataclass(frozen=True)
class Accepted:
    """Done. `run_id` names the run it was done to (or started)."""

    run_id: str | None = None


@dataclass(frozen=True)
class Refused:
    """Not done, and why, in words for the person (`text`); `field_errors` by form field.
    Every refusal is audited before it is returned."""

    text: str
    code: str = "not_allowed"
    field_errors: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None


@dataclass(frozen=True)
class Duplicate:
    """The same request again (a redelivery, a double click): it changed nothing this time."""

    run_id: str | None = None


@dataclass(frozen=True)
class Ignored:
    """Not meant for Conductor (chatter in a thread that waits on no reply): nothing to say."""


Decision = Accepted | Refused | Duplicate | Ignored


def decision_of(result: Result) -> Decision:
    """The engine service's result as a decision."""
    if result.status == "accepted":
        return Accepted(result.run_id)
    if result.status == "duplicate":
        return Duplicate(result.run_id)
    return Refused(result.reason or "not allowed", result.code or "refused", dict(result.field_errors), result.run_id)


# --- results of use cases that are not engine events --------------------------------------------
@dataclass(frozen=True)
class NeedsInputs:
    """A start that cannot go on without a form: the inputs the workflow still needs."""

    workflow_id: str
    title: str
    inputs: dict[str, Any]  # name -> field spec (all of the workflow's inputs, for the form)
    given: dict[str, Any]  # what the command already gave


@dataclass(frozen=True)
class Reloaded:
    """Workflow files loaded again; `problems` (file:line:col lines) were refused and their
    previous versions keep running; `told` are the other admins who were told."""

    files: int
    problems: tuple[str, ...] = ()
    told: tuple[str, ...] = ()


@dataclass(frozen=True)
class Steered:
    """A stand-up's schedule changed: `action` is pause, resume or skip."""

    workflow_id: str
    action: str


@dataclass(frozen=True)
class AwaySet:
    first: date
    last: date


@dataclass(frozen=True)
class Back:
    removed: int


@dataclass(frozen=True)
class AwayDays:
    periods: tuple[tuple[date, date], ...]
