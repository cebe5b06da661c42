"""What the workflows ask of the workspace and the deployment (pure): the channels, people and
user groups they name, the secrets they refer to, where automations escalate, and whether any
stand-up runs, each with the `file:line` that asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.definitions.checks import walk_strings
from bot.definitions.loader import Catalog, LoadedWorkflow
from bot.definitions.steps import ApprovalStep, AutomationStep, GateStep, StandupStep, TaskStep
from bot.definitions.values import SLACK_CHANNEL, SLACK_USER_OR_GROUP, secret_names
from bot.definitions.yaml_source import Path, SourceDoc, load_source

ESCALATION_SETTING, ADMINS_SETTING = "ESCALATION_CHANNEL", "ADMINS"


class Use(StrEnum):
    """Why a workflow (or a setting) names something."""

    CHANNEL = "channel"  # the workflow's runs are conducted there
    ESCALATION = "escalation"  # failing automations are handed to people there
    POST = "post"  # a `conductor/post` step posts there
    ROLE = "role"  # a member of one of the workflow's roles
    STEP = "step"  # named by a step itself (ask, approvers, participants, decide)
    ADMIN = "admin"  # may reload workflows (ADMINS)
    SECRET = "secret"  # `${{ secrets.NAME }}`


@dataclass(frozen=True)
class Place:
    where: str  # `file:line`, or the name of the setting
    use: Use
    workflow: str | None = None
    name: str | None = None  # the role, or the step id


@dataclass(frozen=True)
class Escalation:
    """Where one workflow's failing automations go."""

    workflow: str
    where: str  # the workflow's `id:` line, where `escalation_channel:` would go
    channel: str | None  # its own escalation channel, else the setting's
    run_channel: str | None


@dataclass
class Needs:
    channels: dict[str, list[Place]] = field(default_factory=dict)
    users: dict[str, list[Place]] = field(default_factory=dict)
    groups: dict[str, list[Place]] = field(default_factory=dict)
    secrets: dict[str, list[Place]] = field(default_factory=dict)
    escalations: list[Escalation] = field(default_factory=list)
    standups: list[Place] = field(default_factory=list)

    def add(self, table: dict[str, list[Place]], key: str, place: Place) -> None:
        table.setdefault(key, []).append(place)


def channel_ref(value: str) -> str:
    """A channel as the workflows write it: `#name` or an id (a bare name gets its `#`)."""
    value = value.strip()
    return value if value.startswith("#") or SLACK_CHANNEL.match(value) else "#" + value


def is_channel(value: str) -> bool:
    return bool(SLACK_CHANNEL.match(channel_ref(value)))


def workflow_needs(catalog: Catalog, *, escalation_channel: str | None = None, admins: set[str] | None = None) -> Needs:
    """Everything the loaded workflows (and the ESCALATION_CHANNEL and ADMINS settings) name."""
    needs = Needs()
    setting = channel_ref(escalation_channel) if escalation_channel and is_channel(escalation_channel) else None
    if setting:
        needs.add(needs.channels, setting, Place(ESCALATION_SETTING, Use.ESCALATION))
    for user in sorted(admins or ()):
        needs.add(needs.users, user, Place(ADMINS_SETTING, Use.ADMIN))
    for loaded in sorted(catalog.workflows.values(), key=lambda w: w.path):
        _collect(needs, loaded, setting)
    return needs


def _collect(needs: Needs, loaded: LoadedWorkflow, setting: str | None) -> None:
    workflow, doc = loaded.workflow, _source(loaded)

    def at(path: Path) -> str:
        return f"{loaded.path}:{doc.locate(path)[0]}" if doc else loaded.path

    wid = workflow.id
    if workflow.channel:
        needs.add(needs.channels, workflow.channel, Place(at(("channel",)), Use.CHANNEL, wid))
    if workflow.escalation_channel:
        needs.add(needs.channels, workflow.escalation_channel,
                  Place(at(("escalation_channel",)), Use.ESCALATION, wid))
    for role, members in workflow.roles.items():
        for n, principal in enumerate(members):
            _principal(needs, principal, Place(at(("roles", role, n)), Use.ROLE, wid, role))
    for index, step in enumerate(workflow.steps):
        for key, principal in _step_principals(step):
            _principal(needs, principal, Place(at(("steps", index, key)), Use.STEP, wid, step.id))
        if isinstance(step, AutomationStep) and step.uses == "conductor/post":
            channel = step.with_.get("channel")
            if isinstance(channel, str) and is_channel(channel):
                needs.add(needs.channels, channel_ref(channel),
                          Place(at(("steps", index, "with", "channel")), Use.POST, wid, step.id))
        if isinstance(step, StandupStep):
            needs.standups.append(Place(at(("steps", index)), Use.STEP, wid, step.id))
    if any(isinstance(step, AutomationStep) for step in workflow.steps):
        needs.escalations.append(Escalation(wid, at(("id",)), workflow.escalation_channel or setting, workflow.channel))
    if doc is not None:
        for path, text in walk_strings(doc.data, ()):
            for name in secret_names(text):
                needs.add(needs.secrets, name, Place(at(path), Use.SECRET, wid))


def _principal(needs: Needs, principal: str, place: Place) -> None:
    if SLACK_USER_OR_GROUP.match(principal):
        needs.add(needs.groups if principal.startswith("S") else needs.users, principal, place)


def _step_principals(step: Any) -> Iterator[tuple[str, str]]:
    """User and group IDs a step names itself, rather than through a role."""
    if isinstance(step, TaskStep):
        yield "ask", step.ask
    elif isinstance(step, ApprovalStep):
        yield from (("approvers", name) for name in step.approvers)
    elif isinstance(step, StandupStep):
        yield from (("participants", name) for name in step.participants)
    elif isinstance(step, GateStep) and step.decide:
        yield "decide", step.decide


def _source(loaded: LoadedWorkflow) -> SourceDoc | None:
    doc, _problems = load_source(loaded.path, loaded.source.encode("utf-8"))
    return doc
