"""What the engine says to people: one frozen class per kind of message, with its own fields.

`Message` is the closed union of them; the Slack renderers match on it exhaustively, so a new
kind without a renderer is a type error. Messages travel through the outbox as JSON, in the
shape the previous release wrote and still reads:
`{"kind", "step_id", "to", "text", "data": {...}}` (the journal adds `run_id` and
`workflow_id`). A field named `text` is the payload's `text`; every other field of a kind is a
key of `data`, under the same name. The routing fields (`destination`, `step_id`, `to`) are
shared by all.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from types import NoneType, UnionType
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

# Where a message goes: the run's thread, the escalation channel, a person's DM, or another
# channel (a `Post`'s `channel`).
Destination = Literal["thread", "escalation", "dm", "channel"]
DESTINATIONS: tuple[str, ...] = get_args(Destination)
HEADER = "header"  # the outbox payload kind of a header edit (not a message: it shows the run)
_ROUTING = ("destination", "step_id", "to")
APPEAL_ACTIONS = ("retry", "skip", "take_over", "abort")  # what people may do with an escalation


class UnknownMessageKind(ValueError):
    """An outbox payload of a kind this release does not know: it cannot be rendered."""

    def __init__(self, kind: object):
        super().__init__(f"unknown message kind {kind!r}")
        self.kind = kind


@dataclass(frozen=True, kw_only=True)
class MessageBase:
    kind: ClassVar[str]
    destination: Destination = "thread"
    step_id: str | None = None
    to: tuple[str, ...] = ()  # principals to mention, or the DM's user for destination "dm"

    def to_payload(self) -> dict[str, Any]:
        """The outbox JSON of this message (without the run's ids)."""
        data = {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)
                if f.name not in _ROUTING and f.name != "text"}
        return {"kind": self.kind, "destination": self.destination, "step_id": self.step_id,
                "to": list(self.to), "text": str(getattr(self, "text", "")), "data": data}


# --- the run ------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class RunStarted(MessageBase):
    kind: ClassVar[str] = "run_started"
    workflow: str  # its title


@dataclass(frozen=True, kw_only=True)
class RunFinished(MessageBase):
    kind: ClassVar[str] = "run_finished"
    status: str
    reason: str | None = None
    actor: str | None = None  # who stopped it, if someone did


@dataclass(frozen=True, kw_only=True)
class StepFinished(MessageBase):
    kind: ClassVar[str] = "step_finished"
    title: str
    status: str
    actor: str | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class Post(MessageBase):
    """A workflow's `conductor/post`: its text, in the thread or in another channel."""

    kind: ClassVar[str] = "post"
    text: str
    channel: str | None = None


# --- asking people ------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class AskPerson(MessageBase):
    kind: ClassVar[str] = "ask"
    title: str
    text: str = ""  # the step's prompt, rendered
    fields: tuple[str, ...] = ()  # the outputs the person hands off
    reassigned_by: str | None = None


@dataclass(frozen=True, kw_only=True)
class ApprovalRequest(MessageBase):
    kind: ClassVar[str] = "approval_request"
    title: str
    text: str = ""
    fields: tuple[str, ...] = ()  # extra outputs an approval asks for


@dataclass(frozen=True, kw_only=True)
class DecisionRequest(MessageBase):
    kind: ClassVar[str] = "decision_request"
    title: str
    text: str = ""
    options: tuple[str, ...] = ()
    reassigned_by: str | None = None


@dataclass(frozen=True, kw_only=True)
class ApprovalProgress(MessageBase):
    kind: ClassVar[str] = "approval_progress"
    approvals: tuple[str, ...]
    needed: int


@dataclass(frozen=True, kw_only=True)
class Rejected(MessageBase):
    kind: ClassVar[str] = "rejected"
    title: str
    actor: str | None
    reason: str
    back_to: str | None = None  # the step the run goes back to; None: the run ends


@dataclass(frozen=True, kw_only=True)
class Reminder(MessageBase):
    kind: ClassVar[str] = "reminder"
    title: str
    number: int  # 1 for the first reminder
    closes: str | None = None  # a stand-up participant's window end (ISO time)


@dataclass(frozen=True, kw_only=True)
class Overdue(MessageBase):
    kind: ClassVar[str] = "overdue"
    title: str
    due: str | None = None  # the step's `due`, as people read a duration


@dataclass(frozen=True, kw_only=True)
class HelpRequested(MessageBase):
    kind: ClassVar[str] = "help_requested"
    title: str
    actor: str  # who asked


# --- automations handed to people ---------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Escalation(MessageBase):
    """A failed automation in the escalation channel, with what people may do about it."""

    kind: ClassVar[str] = "escalation"
    destination: Destination = "escalation"
    title: str
    error: str
    output_tail: str = ""
    tries: int = 0
    fields: tuple[str, ...] = ()  # what Take over asks for
    actions: tuple[str, ...] = APPEAL_ACTIONS


@dataclass(frozen=True, kw_only=True)
class Escalated(MessageBase):
    """The same failure, as a line in the run's own thread."""

    kind: ClassVar[str] = "escalated"
    title: str
    error: str


# --- stand-ups ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class StandupPrompt(MessageBase):
    kind: ClassVar[str] = "standup_prompt"
    destination: Destination = "dm"
    title: str
    text: str = ""  # the step's prompt, rendered
    questions: tuple[str, ...] = ()  # their ids
    closes: str | None = None
    first_question: str | None = None  # its text: one may answer by replying, starting here


@dataclass(frozen=True, kw_only=True)
class StandupQuestion(MessageBase):
    """The next question of a stand-up answered by DM, one reply at a time."""

    kind: ClassVar[str] = "standup_question"
    destination: Destination = "dm"
    title: str
    text: str  # the question
    question: str  # its id


@dataclass(frozen=True, kw_only=True)
class StandupThanks(MessageBase):
    kind: ClassVar[str] = "standup_thanks"
    destination: Destination = "dm"
    title: str


@dataclass(frozen=True, kw_only=True)
class StandupSummary(MessageBase):
    kind: ClassVar[str] = "standup_summary"
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # user -> question id -> answer
    missing: tuple[str, ...] = ()
    late: tuple[str, ...] = ()
    away: tuple[str, ...] = ()
    questions: dict[str, str] = field(default_factory=dict)  # id -> text, in order
    blockers: tuple[str, ...] = ()  # ids of blocker questions


Message = (
    RunStarted | RunFinished | StepFinished | Post | AskPerson | ApprovalRequest | DecisionRequest
    | ApprovalProgress | Rejected | Reminder | Overdue | HelpRequested | Escalation | Escalated
    | StandupPrompt | StandupQuestion | StandupThanks | StandupSummary
)
MESSAGE_CLASSES: tuple[type[Message], ...] = get_args(Message)
BY_KIND: dict[str, type[Message]] = {cls.kind: cls for cls in MESSAGE_CLASSES}
assert len(BY_KIND) == len(MESSAGE_CLASSES), "two message classes share a kind"


def message_from_payload(payload: dict[str, Any]) -> Message:
    """The message an outbox payload holds. Raises `UnknownMessageKind` for a kind this release
    does not know. A field missing or of another type reads as its empty value (rows of the
    previous release lack `destination`; older ones may lack newer fields), as the renderers
    always read them."""
    kind = payload.get("kind")
    cls = BY_KIND.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise UnknownMessageKind(kind)
    data = payload.get("data")
    data = data if isinstance(data, dict) else {}
    values: dict[str, Any] = {}
    for name, hint in _hints(cls):
        if name == "destination":
            if payload.get(name) in DESTINATIONS:
                values[name] = payload[name]
        elif name in ("step_id", "to", "text"):
            values[name] = _coerce(hint, payload.get(name))
        elif name in data:
            values[name] = _coerce(hint, data[name])
        elif not _has_default(cls, name):
            values[name] = _coerce(hint, None)
    return cls(**values)


# --- reading values back ------------------------------------------------------------------------
_HINTS: dict[type[MessageBase], tuple[tuple[str, Any], ...]] = {}


def _hints(cls: type[MessageBase]) -> tuple[tuple[str, Any], ...]:
    """(field name, its type) of a message class, resolved once."""
    if cls not in _HINTS:
        hints = get_type_hints(cls)
        _HINTS[cls] = tuple((f.name, hints[f.name]) for f in fields(cls))
    return _HINTS[cls]


def _has_default(cls: type[MessageBase], name: str) -> bool:
    found = next(f for f in fields(cls) if f.name == name)
    return found.default is not MISSING or found.default_factory is not MISSING


def _coerce(hint: Any, value: Any) -> Any:
    """`value` as the type `hint` names: str, int, `X | None`, tuple[str, ...], dict."""
    origin = get_origin(hint)
    if origin in (UnionType, Union):
        if value is None:
            return None
        (inner,) = (arg for arg in get_args(hint) if arg is not NoneType)
        return _coerce(inner, value)
    if hint is str:
        return "" if value is None else str(value)
    if hint is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return ()
        return tuple(item for item in value if isinstance(item, str) and item)  # names and ids only
    if origin is dict:
        if not isinstance(value, dict):
            return {}
        (_, inner) = get_args(hint)
        if get_origin(inner) is dict:  # answers: one mapping per person
            return {str(k): dict(v) for k, v in value.items() if isinstance(v, dict)}
        if inner is str:
            return {str(k): str(v) for k, v in value.items()}
        return dict(value)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
