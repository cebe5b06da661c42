"""The step kinds: a closed, tagged union. Orchestral steps are done by people, algorithmic
steps by code, and gates choose the way a run goes.

A step's kind is told by its keys (`ask` -> task, `approvers` -> approval, `questions` ->
standup, `uses`/`run`/`http` -> automation, `routes`/`decide` -> gate), or by an explicit
`kind:`. An unknown key is always an error, never silently ignored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.definitions.fields import FieldMap, FieldSpec
from bot.definitions.review import Review
from bot.definitions.shadow import CompareMode
from bot.definitions.values import (
    Duration,
    DurationList,
    Flag,
    Identifier,
    NameList,
    SecretRef,
    TimeOfDay,
    TimeZoneName,
)

ORCHESTRAL_KINDS = ("task", "approval", "standup")
ALGORITHMIC_KINDS = ("automation",)
END = "end"  # a `goto`/`next`/`default` target that ends the run
BUILTIN_USES = ("conductor/post", "conductor/wait")
USES_PATTERN = r"^([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*|conductor/[a-z-]+)$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Diagnostic(Strict):
    """The four questions, answered for this step (see `conductor diagnose`)."""

    subjective: Flag = Field(description="Is the outcome subjective, a matter of human judgment?")
    variable: Flag = Field(description="Are the inputs and paths highly variable or unpredictable?")
    repetitive: Flag = Field(description="Is the procedure repetitive, with clear rules?")
    consistency_critical: Flag = Field(description="Is consistency, with no human error, what counts most?")


class StepBase(Strict):
    id: Identifier = Field(description="Unique within the workflow; templates use `steps.<id>`.")
    name: str | None = Field(default=None, description="A human title; defaults to the id.")
    phase: str | None = Field(default=None, description="The Kanban phase; defaults to the previous step's.")
    if_: str | None = Field(default=None, alias="if", description="Run only when this condition holds; else skipped.")
    needs: NameList = Field(
        default_factory=list, description="Earlier steps that must finish first (default: the step before)."
    )
    next: str | None = Field(default=None, description="Where to go after this step (a step id or `end`).")
    diagnostic: Diagnostic | None = None
    if TYPE_CHECKING:
        kind: str  # each kind of step declares its own, the tag of the union

    @property
    def title(self) -> str:
        return self.name or self.id

    @property
    def family(self) -> str:
        """`orchestral`, `algorithmic` or `gate`."""
        kind = self.kind
        if kind in ORCHESTRAL_KINDS:
            return "orchestral"
        if kind in ALGORITHMIC_KINDS:
            return "algorithmic"
        return "gate"


class Signing(Strict):
    secret: SecretRef = Field(description="`${{ secrets.NAME }}`: HMAC-SHA256 key for the body.")
    header: str = "X-Conductor-Signature"


class HttpCall(Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str
    json_: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    sign: Signing | None = None


def _argv_only(value: Any) -> Any:
    if isinstance(value, str):
        raise PydanticCustomError(
            "shell_string",
            "`run` takes a list of arguments, never a shell string: write [\"{first}\", ...]",
            {"first": value.split()[0] if value.split() else "command"},
        )
    return value


def _uses_reference(value: str | None) -> str | None:
    import re

    if value is None:
        return value
    if not re.match(USES_PATTERN, value):
        raise PydanticCustomError(
            "uses_ref",
            "`{value}` is not a callable reference: write `package.module:function` "
            "or a built-in ({builtins})",
            {"value": value, "builtins": ", ".join(BUILTIN_USES)},
        )
    if value.startswith("conductor/") and value not in BUILTIN_USES:
        raise PydanticCustomError(
            "uses_ref", "`{value}` is not a built-in: use one of {builtins}",
            {"value": value, "builtins": ", ".join(BUILTIN_USES)},
        )
    return value


def _exactly_one_runner(model: Any, what: str) -> None:
    given = [key for key in ("uses", "run", "http") if getattr(model, key) is not None]
    if len(given) != 1:
        raise PydanticCustomError(
            "exactly_one_runner",
            "{what} needs exactly one of `uses`, `run` or `http` (found {found})",
            {"what": what, "found": ", ".join(f"`{k}`" for k in given) or "none"},
        )


class Shadow(Strict):
    """A candidate automation run beside a person step on the same inputs, in a sandbox: its
    `http` is never sent, a command sees `CONDUCTOR_SHADOW=1`, nothing reaches Slack, and the
    run goes on as the person says. Its outputs are compared with the person's."""

    uses: str | None = Field(default=None, description="`package.module:function` (no built-ins).")
    run: list[str] | None = Field(default=None, description="A command as a list of arguments (no shell).")
    http: HttpCall | None = Field(default=None, description="Never sent: stood in and recorded as not sent.")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="Arguments; values may be templates.")
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables for `run`.")
    timeout: Duration = Field(default=timedelta(minutes=1))
    compare: dict[Identifier, CompareMode] = Field(
        default_factory=dict,
        description="Per output field: `exact` (default), `normalized`, `set` or `{number: {tolerance: X}}`.",
    )

    @field_validator("run", mode="before")
    @classmethod
    def _argv_only(cls, value: Any) -> Any:
        return _argv_only(value)

    @field_validator("uses")
    @classmethod
    def _uses_reference(cls, value: str | None) -> str | None:
        value = _uses_reference(value)
        if value is not None and value.startswith("conductor/"):
            raise PydanticCustomError("uses_ref", "a shadow cannot use the built-in `{value}`: it would reach Slack",
                                      {"value": value})
        return value

    @model_validator(mode="after")
    def _one_runner(self) -> Shadow:
        _exactly_one_runner(self, "a shadow")
        return self


class Shadowed(Strict):
    """A person step that may carry a `shadow:`, the automation that might one day do it."""

    shadow: Shadow | None = Field(default=None, description="A candidate automation run beside the person, compared.")

    def shadow_fields(self) -> tuple[str, ...]:
        """The fields a shadow's outputs are compared on: what the person hands off."""
        outputs = tuple(getattr(self, "outputs", {}) or {})
        kind = getattr(self, "kind", "")
        return ("route",) if kind == "gate" else (("approved", *outputs) if kind == "approval" else outputs)

    @model_validator(mode="after")
    def _shadow_fits(self) -> Shadowed:
        if self.shadow is None:
            return self
        if getattr(self, "kind", "") == "gate" and getattr(self, "decide", None) is None:
            raise PydanticCustomError("field_rule", "a shadow stands beside a person: give the gate `decide:`", {})
        fields = self.shadow_fields()
        for name in self.shadow.compare:
            if name not in fields:
                raise PydanticCustomError(
                    "field_rule", "`shadow.compare` names `{name}`, which the step does not hand off (it has: {fields})",
                    {"name": name, "fields": ", ".join(f"`{f}`" for f in fields) or "no outputs"},
                )
        return self


class PersonTiming(Strict):
    """Deadline, reminders and escalation, shared by every step that waits on a person."""

    due: Duration | None = Field(default=None, description="How long people have, e.g. `2d`.")
    remind: DurationList = Field(default_factory=list, description="Reminder ladder after the ask, e.g. `[4h, 1d]`.")
    escalate_to: str | None = Field(default=None, description="The role told when the deadline passes.")


class TaskStep(StepBase, PersonTiming, Shadowed):
    """A handoff to a person: ask, collect typed outputs, nudge, wait."""

    kind: Literal["task"] = "task"
    ask: str = Field(description="Who does it: a role, `starter`, or a template giving a user ID.")
    prompt: str | None = Field(default=None, description="What to do; a template.")
    outputs: FieldMap = Field(default_factory=dict, description="What the person hands off (exit criteria).")


class ApprovalStep(StepBase, PersonTiming, Shadowed):
    """Approve or reject; a rejection can loop back to an earlier step."""

    kind: Literal["approval"] = "approval"
    approvers: NameList = Field(description="Roles whose members may approve.")
    prompt: str | None = None
    on_reject: str | None = Field(default=None, description="Earlier step to go back to on rejection.")
    min_approvals: int = Field(default=1, ge=1, description="Approvals needed.")
    outputs: FieldMap = Field(default_factory=dict, description="Extra fields asked with the decision.")


class StandupQuestion(Strict):
    id: Identifier
    text: str = Field(description="The question as people read it.")
    type: Literal["string", "text", "number", "integer", "boolean", "enum"] = "text"
    options: list[str] | None = None
    required: Flag = True
    blocker: Flag = Field(default=False, description="A non-empty answer is a blocker handed to the conductor.")


class StandupWindow(Strict):
    opens: TimeOfDay
    closes: TimeOfDay
    timezone: Literal["participant"] | TimeZoneName = Field(
        default="participant", description="`participant` (each person's own) or a fixed IANA zone."
    )


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _monday_to_friday() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri"]


class StandupStep(StepBase):
    """Prompt every participant, collect answers in their time zone, post a summary."""

    kind: Literal["standup"] = "standup"
    participants: NameList = Field(description="Roles (or user IDs) asked.")
    questions: list[StandupQuestion] = Field(min_length=1)
    window: StandupWindow
    working_days: list[Weekday] = Field(default_factory=_monday_to_friday)
    holidays: str | None = Field(default=None, description="Country (or country-subdivision) holiday calendar, e.g. `US`, `DE-BY`.")
    remind: DurationList = Field(default_factory=list, description="Reminders after the window opens.")
    deliver: Literal["dm", "thread"] = "dm"
    prompt: str | None = None


class Retry(Strict):
    attempts: int = Field(default=3, ge=1, le=50, description="Tries in all, the first included.")
    backoff: Duration = Field(default=timedelta(seconds=30), description="Wait before the second try; doubles each time.")
    max: Duration = Field(default=timedelta(minutes=10), description="Longest wait between tries.")
    jitter: Flag = True


class AutomationStep(StepBase):
    """Code does it: a Python callable, a command, or an HTTP call; retried, then escalated."""

    kind: Literal["automation"] = "automation"
    uses: str | None = Field(default=None, description="`package.module:function`, or a built-in such as `conductor/post`.")
    run: list[str] | None = Field(default=None, description="A command as a list of arguments (no shell).")
    http: HttpCall | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="Arguments; values may be templates.")
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables for `run`.")
    outputs: FieldMap = Field(default_factory=dict)
    retry: Retry = Field(default_factory=Retry)
    timeout: Duration = Field(default=timedelta(minutes=5))
    idempotent: Flag = Field(default=False, description="Safe to run again with the same idempotency key.")
    on_failure: Literal["escalate", "fail", "skip"] = "escalate"
    at: str | None = Field(default=None, description="Start at a time of day (HH:MM) or a datetime template.")
    after: Duration | None = Field(default=None, description="Start this long after the step is reached.")
    escalate_to: str | None = Field(default=None, description="Role asked to take over when it fails.")
    review: Review | None = Field(default=None, description="A person confirms or corrects a sample of its outputs.")

    @field_validator("run", mode="before")
    @classmethod
    def _argv_only(cls, value: Any) -> Any:
        return _argv_only(value)

    @field_validator("uses")
    @classmethod
    def _uses_reference(cls, value: str | None) -> str | None:
        return _uses_reference(value)

    @model_validator(mode="after")
    def _exactly_one_runner(self) -> AutomationStep:
        _exactly_one_runner(self, "an automation")
        if self.at is not None and self.after is not None:
            raise PydanticCustomError("field_rule", "give `at` or `after`, not both", {})
        return self


class Route(Strict):
    if_: str | None = Field(default=None, alias="if", description="Condition; the first route that holds wins.")
    goto: str = Field(description="The step to go to (or `end`).")
    label: str | None = Field(default=None, description="The button a deciding person presses.")


class GateStep(StepBase, PersonTiming, Shadowed):
    """Choose the way: by conditions on the run's data, or by a person (`decide`)."""

    kind: Literal["gate"] = "gate"
    routes: list[Route] = Field(default_factory=list)
    default: str | None = Field(default=None, description="Where to go when no route holds (default: the next step).")
    decide: str | None = Field(default=None, description="A role that chooses the route by hand.")
    prompt: str | None = None

    @model_validator(mode="after")
    def _routes_fit(self) -> GateStep:
        if not self.routes:
            raise PydanticCustomError("field_rule", "a gate needs at least one route under `routes`", {})
        for route in self.routes:
            if self.decide is None and route.if_ is None:
                raise PydanticCustomError(
                    "field_rule", "route to `{goto}` has no `if`: give it a condition, or make the gate `decide:` by a person",
                    {"goto": route.goto},
                )
            if self.decide is not None and route.if_ is not None:
                raise PydanticCustomError(
                    "field_rule", "with `decide`, a person chooses the route: remove `if` from the route to `{goto}`",
                    {"goto": route.goto},
                )
        return self


_KIND_KEYS: tuple[tuple[str, str], ...] = (
    ("uses", "automation"), ("run", "automation"), ("http", "automation"),
    ("approvers", "approval"), ("questions", "standup"), ("participants", "standup"),
    ("routes", "gate"), ("decide", "gate"), ("ask", "task"),
)


def step_kind(value: Any) -> str | None:
    """The union tag of a raw or built step: its `kind`, or the kind its keys imply."""
    if isinstance(value, dict):
        if "kind" in value:
            return value["kind"] if isinstance(value["kind"], str) else None
        for key, kind in _KIND_KEYS:
            if key in value:
                return kind
        return None
    return getattr(value, "kind", None)


Step = Annotated[
    Annotated[TaskStep, Tag("task")]
    | Annotated[ApprovalStep, Tag("approval")]
    | Annotated[StandupStep, Tag("standup")]
    | Annotated[AutomationStep, Tag("automation")]
    | Annotated[GateStep, Tag("gate")],
    Discriminator(
        step_kind,
        custom_error_type="step_kind",
        custom_error_message=(
            "cannot tell what kind of step this is: give it `ask` (a person), `approvers`, "
            "`questions` (a stand-up), `uses`/`run`/`http` (an automation) or `routes`/`decide` (a gate)"
        ),
    ),
]

PersonStep = TaskStep | ApprovalStep | GateStep
__all__ = ["FieldSpec", "Step", "StepBase", "END", "ORCHESTRAL_KINDS"]
