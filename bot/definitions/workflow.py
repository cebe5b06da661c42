"""The workflow: who takes part, what starts it, its phases, and its steps."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from bot.definitions.fields import FieldMap
from bot.definitions.steps import Step, Strict
from bot.definitions.values import (
    CronExpression,
    Flag,
    NameList,
    SecretRef,
    SlackChannel,
    SlackPrincipal,
    Slug,
    TimeZoneName,
)

# Roles every workflow has without declaring them.
BUILTIN_ROLES = ("anyone", "starter")
PERMISSION_ACTIONS = ("start", "cancel", "take_over", "skip", "retry", "reassign")


class Permissions(Strict):
    """Which roles may do what. An action left out falls back to the roles of `start`."""

    start: NameList | None = Field(default=None, description="Who may start a run (default: anyone).")
    cancel: NameList | None = None
    take_over: NameList | None = None
    skip: NameList | None = None
    retry: NameList | None = None
    reassign: NameList | None = None

    def roles_for(self, action: str) -> list[str]:
        """The roles allowed to do `action`, after the fall-backs."""
        allowed = getattr(self, action)
        if allowed is not None:
            return list(allowed)
        return list(self.start) if self.start is not None else ["anyone"]


class Schedule(Strict):
    cron: CronExpression = Field(description="minute hour day-of-month month day-of-week")
    timezone: TimeZoneName | None = Field(default=None, description="Defaults to the workflow's time zone.")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="Inputs for the scheduled run.")


class Webhook(Strict):
    secret: SecretRef = Field(description="`${{ secrets.NAME }}`: requests must be signed with it.")


_HOST_NAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")


def _egress_target(value: str) -> str:
    # Read as the http runner's egress check reads it: an address or network first, else a
    # host name. A url here would match nothing at run time, so it is refused now.
    text = value.strip()
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        if not _HOST_NAME.match(text) or len(text) > 253:
            raise PydanticCustomError(
                "egress_target",
                "`{value}` is not a host name, an address or a network (such as `cms.internal`, "
                "`10.0.0.5` or `10.0.0.0/8`): write no scheme, port or path",
                {"value": value},
            ) from None
    return text


EgressTarget = Annotated[str, AfterValidator(_egress_target)]


class Egress(Strict):
    """Where the workflow's `http:` steps may connect besides public addresses."""

    allow: list[EgressTarget] = Field(
        default_factory=list,
        description="Host names (as the url writes them), addresses or CIDR networks that `http:` steps "
        "may reach although they are private, loopback or link-local. A cloud metadata address must be "
        "named itself: no network allows it.",
    )


class Triggers(Strict):
    """What starts a run (`on:`, as in GitHub Actions)."""

    command: Flag = Field(default=True, description="Allow `/conductor start <id>`.")
    schedule: list[Schedule] = Field(default_factory=list)
    webhook: Webhook | None = None


class Workflow(Strict):
    """One workflow definition, frozen as loaded from YAML."""

    id: Slug = Field(description="The workflow's id, used in `/conductor start <id>`.")
    name: str | None = Field(default=None, description="A human title; defaults to the id.")
    description: str | None = None
    channel: SlackChannel | None = Field(default=None, description="Where runs are conducted, one thread per run.")
    escalation_channel: SlackChannel | None = Field(default=None, description="Where failing automations are handed to people.")
    timezone: TimeZoneName = Field(default="UTC", description="For schedules and times of day.")
    phases: list[str] = Field(default_factory=list, description="Ordered Kanban columns, e.g. Brief, Create, Review.")
    roles: dict[Slug, list[SlackPrincipal]] = Field(
        default_factory=dict, description="Role name -> Slack user IDs (U…) and user-group IDs (S…)."
    )
    conductor: str | None = Field(default=None, description="The role that conducts: receives blockers and escalations.")
    permissions: Permissions = Field(default_factory=Permissions)
    inputs: FieldMap = Field(default_factory=dict, description="Typed fields asked when a run starts.")
    on: Triggers = Field(default_factory=Triggers)
    egress: Egress = Field(default_factory=Egress)
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _roles_accept_single_id(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("roles"), dict):
            value = dict(value)
            value["roles"] = {k: [v] if isinstance(v, str) else v for k, v in value["roles"].items()}
        return value

    @property
    def title(self) -> str:
        return self.name or self.id

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def phase_of(self, step_id: str) -> str | None:
        """The step's phase, inherited from the previous step when not given."""
        phase = self.phases[0] if self.phases else None
        for step in self.steps:
            phase = step.phase or phase
            if step.id == step_id:
                return phase
        raise KeyError(step_id)
