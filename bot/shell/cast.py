"""The people of a rehearsal, made up from the workflows themselves.

Every Slack user ID a workflow names becomes a person called after the ID (`U01EDITOR` is
@editor); every user group gets two members with first names (@ana, @ben, ...). Each person
lives in the time zone of the first workflow that names them until `:tz` says otherwise, so a
stand-up across time zones can be rehearsed by moving people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.definitions.workflow import Workflow

FIRST_NAMES = ["ana", "ben", "chloe", "dara", "emil", "farah", "gus", "hana", "ivo", "jun", "kofi", "lena",
               "milo", "nora", "omar", "pia", "quinn", "rosa", "sami", "tove", "uma", "vik", "wren", "yara"]
GROUP_SIZE = 2


class CastError(ValueError):
    """A name or time zone the shell cannot use; the message says why."""


@dataclass
class Person:
    id: str
    name: str
    tz: str
    groups: list[str] = field(default_factory=list)

    @property
    def mention(self) -> str:
        return f"@{self.name}"


@dataclass
class Cast:
    people: dict[str, Person] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_workflows(cls, workflows: list[Workflow]) -> Cast:
        cast = cls()
        for workflow in sorted(workflows, key=lambda w: w.id):
            for members in workflow.roles.values():
                for principal in members:
                    if principal.startswith("S"):
                        cast._add_group(principal, workflow.timezone)
                    else:
                        cast._add_person(principal, _name_of(principal), workflow.timezone)
        if not cast.people:
            cast._add_person("U0YOU", "you", "UTC")
        return cast

    def _unique(self, name: str) -> str:
        taken = {p.name for p in self.people.values()}
        if name not in taken:
            return name
        n = 2
        while f"{name}{n}" in taken:
            n += 1
        return f"{name}{n}"

    def _add_person(self, user_id: str, name: str, tz: str) -> Person:
        if user_id not in self.people:
            self.people[user_id] = Person(user_id, self._unique(name), tz)
        return self.people[user_id]

    def _add_group(self, group_id: str, tz: str) -> None:
        if group_id in self.groups:
            return
        members = []
        for _ in range(GROUP_SIZE):
            taken = sum(len(m) for m in self.groups.values()) + len(members)
            name = self._unique(FIRST_NAMES[taken % len(FIRST_NAMES)])
            user_id = "U" + re.sub(r"[^A-Z0-9]", "", name.upper())
            person = self._add_person(user_id, name, tz)
            person.groups.append(group_id)
            members.append(user_id)
        self.groups[group_id] = members

    # --- lookups ----------------------------------------------------------------------------
    def find(self, name: str) -> Person:
        """A person by `@name`, `name` or user ID."""
        wanted = name.strip().lstrip("@").strip()
        for person in self.people.values():
            if wanted in (person.name, person.id):
                return person
        known = ", ".join(p.mention for p in self.people.values())
        raise CastError(f"nobody called @{wanted} here (people: {known})")

    def name_of(self, user_id: str) -> str:
        person = self.people.get(user_id)
        return person.name if person else user_id

    def group_name(self, group_id: str) -> str:
        members = self.groups.get(group_id)
        return f"{group_id} ({', '.join('@' + self.name_of(m) for m in members)})" if members else group_id

    def move(self, name: str, tz: str) -> Person:
        person = self.find(name)
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise CastError(f"{tz!r} is not a time zone (try Europe/Berlin or America/New_York)") from None
        person.tz = tz
        return person

    def slack_users(self) -> dict[str, dict[str, str]]:
        """The users as the local Slack's `users.info` answers them."""
        return {p.id: {"real_name": p.name.capitalize(), "tz": p.tz, "name": p.name} for p in self.people.values()}


def _name_of(user_id: str) -> str:
    """`U01EDITOR` -> `editor`; an ID with no word in it stays as it is, lower case."""
    word = re.sub(r"^[UW]\d*", "", user_id).lower()
    return word or user_id.lower()
