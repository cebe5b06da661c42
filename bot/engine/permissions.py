"""Who may do what, decided in the engine from the workflow's roles.

Roles list Slack user IDs and user-group IDs. Group membership comes through the `Directory`
port: the application's is `bot.engine.people.StoredDirectory` (tables a refresher fills from
Slack, read into memory before each transaction); tests use `StaticDirectory`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol

from bot.definitions.workflow import Workflow

EVERYONE = "*"


class Directory(Protocol):
    def group_members(self, group_id: str) -> frozenset[str]:
        """The user IDs in a Slack user group (empty when unknown)."""
        ...

    def user_timezone(self, user_id: str) -> str | None:
        """The user's IANA time zone, when known (stand-ups ask in each person's own time)."""
        ...

    def is_away(self, user_id: str, day: date) -> bool:
        """Whether the user said they are away on `day`."""
        ...


def prepare_directory(directory: Directory) -> None:
    """Let a directory that answers from a snapshot bring it up to date. Called before a
    transaction opens: inside one, the directory must answer from memory (a directory
    without `prepare`, such as `StaticDirectory`, always does)."""
    prepare = getattr(directory, "prepare", None)
    if prepare is not None:
        prepare()


class StaticDirectory:
    """A directory from fixed mappings: group ID -> user IDs, user ID -> time zone."""

    def __init__(self, groups: dict[str, Iterable[str]] | None = None, zones: dict[str, str] | None = None,
                 away: dict[str, list[tuple[date, date]]] | None = None):
        self.groups = {group: frozenset(users) for group, users in (groups or {}).items()}
        self.zones = dict(zones or {})
        self.away = dict(away or {})

    def group_members(self, group_id: str) -> frozenset[str]:
        return self.groups.get(group_id, frozenset())

    def user_timezone(self, user_id: str) -> str | None:
        return self.zones.get(user_id)

    def is_away(self, user_id: str, day: date) -> bool:
        return any(start <= day <= end for start, end in self.away.get(user_id, []))


def principals(workflow: Workflow, name: str, started_by: str | None) -> list[str]:
    """What a role name (or a user/group ID, or `starter`/`anyone`) stands for."""
    if name == "anyone":
        return [EVERYONE]
    if name == "starter":
        return [started_by] if started_by else []
    if name in workflow.roles:
        return list(workflow.roles[name])
    return [name]


def principals_of(workflow: Workflow, names: Iterable[str], started_by: str | None) -> list[str]:
    found: list[str] = []
    for name in names:
        for principal in principals(workflow, name, started_by):
            if principal not in found:
                found.append(principal)
    return found


def is_member(actor: str | None, allowed: Iterable[str], directory: Directory) -> bool:
    """Whether `actor` is one of `allowed`, directly, through a user group, or as anyone."""
    if actor is None:
        return False
    for principal in allowed:
        if principal in (EVERYONE, actor):
            return True
        if principal.startswith("S") and actor in directory.group_members(principal):
            return True
    return False


def users_of(allowed: Iterable[str], directory: Directory) -> list[str]:
    """The individual users behind principals (groups expanded; `*` cannot be expanded)."""
    users: list[str] = []
    for principal in allowed:
        members = sorted(directory.group_members(principal)) if principal.startswith("S") else [principal]
        for user in members:
            if user != EVERYONE and user not in users:
                users.append(user)
    return users
