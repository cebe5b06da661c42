"""People and user groups, read from Slack into the tables the engine reads (`bot.engine.people`).

Every Web API call is made first; only then does one short transaction write what was read,
so the database never waits on Slack. Only what changed is written: a refresh that finds
nothing new writes nothing, and the engine's snapshot stays as it is.

A full refresh (`refresh_people`, on the leading clock's schedule) pages `users.list` and reads
`usergroups.list` with members, asking `usergroups.users.list` for a group whose list came
back cut short. Events refresh one person (`refresh_user`) or one group (`refresh_group`).
A full refresh takes seconds of network calls; a row an event wrote after the refresh began
(its `refreshed_at` is later than the refresh's `now`) is newer than what the refresh read,
and is left alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, select, update

from bot.engine.people import people_changed
from bot.slack.client import retry_after
from bot.store.models import Person, UserGroup, UserGroupMember

log = logging.getLogger("conductor.people")
PEOPLE, GROUPS, MEMBERS = (cast(Table, model.__table__) for model in (Person, UserGroup, UserGroupMember))
PAGE_SIZE = 200  # Slack's advice for users.list
RATELIMIT_TRIES = 5
RATELIMIT_MAX_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Someone:
    user_id: str
    name: str
    tz: str | None
    deleted: bool


@dataclass(frozen=True)
class Refreshed:
    """What a refresh read from Slack, and how many rows it changed."""

    people: int
    groups: int
    memberships: int
    changed: int
    calls: int


class _Caller:
    """Web API calls that wait out a 429 (`Retry-After`, a few times) and count themselves."""

    def __init__(self, client: WebClient, sleep: Callable[[float], None]):
        self.client, self.sleep, self.calls = client, sleep, 0

    def __call__(self, method: str, **params: Any) -> dict[str, Any]:
        for attempt in range(RATELIMIT_TRIES):
            self.calls += 1
            try:
                reply = getattr(self.client, method.replace(".", "_"))(**params)
                return reply.data if isinstance(reply.data, dict) else {}
            except SlackApiError as exc:
                if exc.response.status_code != 429 or attempt == RATELIMIT_TRIES - 1:
                    raise
                self.sleep(min(retry_after(exc.response.headers), RATELIMIT_MAX_WAIT_SECONDS))
        raise AssertionError("unreachable")


def someone(user: dict[str, Any]) -> Someone:
    """A person from Slack's user object."""
    profile = user.get("profile") or {}
    name = user.get("real_name") or profile.get("real_name") or profile.get("display_name") or user.get("name") or ""
    return Someone(str(user["id"]), str(name), user.get("tz") or None, bool(user.get("deleted")))


def _everyone(call: _Caller) -> Iterator[dict[str, Any]]:
    cursor = ""
    while True:
        page = call("users.list", limit=PAGE_SIZE, **({"cursor": cursor} if cursor else {}))
        yield from page.get("members") or []
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            return


def _members_of(call: _Caller, group: dict[str, Any]) -> list[str]:
    users = group.get("users")
    if users is None or int(group.get("user_count") or 0) > len(users):  # cut short: ask for all
        users = call("usergroups.users.list", usergroup=group["id"]).get("users") or []
    return [str(user) for user in users]


def refresh_people(client: WebClient, engine: Engine, now: datetime, *,
                   sleep: Callable[[float], None] = time.sleep) -> Refreshed:
    """Read everyone and every enabled user group from Slack, then write what changed.

    Without `usergroups:read` (a workspace whose workflows name no user group need not grant
    it) people are still refreshed and the group tables are left as they are."""
    call = _Caller(client, sleep)
    people = [someone(user) for user in _everyone(call)]
    groups = _groups(call)
    with engine.begin() as conn:  # every call is done: only the writes hold the lock
        changed = write_people(conn, people, now, complete=True)
        if groups is not None:
            changed += write_groups(conn, groups, now, complete=True)
    if changed:
        people_changed()
    groups = groups or {}
    return Refreshed(len(people), len(groups), sum(len(m) for _, m in groups.values()), changed, call.calls)


def _groups(call: _Caller) -> dict[str, tuple[str, set[str]]] | None:
    """Every enabled user group: handle and members; None when the scope is not granted."""
    try:
        listed = call("usergroups.list", include_users=True, include_count=True).get("usergroups") or []
    except SlackApiError as exc:
        if exc.response.get("error") != "missing_scope":
            raise
        log.warning("user groups not read from Slack: the app lacks usergroups:read")
        return None
    return {str(group["id"]): (str(group.get("handle") or ""), set(_members_of(call, group)))
            for group in listed if not group.get("date_delete")}  # a disabled group grants nothing


def refresh_user(client: WebClient, engine: Engine, user_id: str, now: datetime) -> Someone | None:
    """Read one person again (their profile or time zone changed, or they joined). Returns
    them, or None when Slack does not know them (nothing is written then)."""
    try:
        found = someone(_Caller(client, time.sleep)("users.info", user=user_id)["user"])
    except SlackApiError as exc:
        if exc.response.get("error") == "user_not_found":
            return None
        raise
    with engine.begin() as conn:
        changed = write_people(conn, [found], now, complete=False)
    if changed:
        people_changed()
    return found


def refresh_group(client: WebClient, engine: Engine, group_id: str, now: datetime, *,
                  handle: str | None = None, disabled: bool = False) -> frozenset[str]:
    """Read one user group's members again; a disabled group, or one Slack no longer knows,
    is forgotten (it grants nothing). `handle`: the group's, when the event carried it."""
    members: set[str] = set()
    if not disabled:
        try:
            reply = _Caller(client, time.sleep)("usergroups.users.list", usergroup=group_id)
            members = {str(user) for user in reply.get("users") or []}
        except SlackApiError as exc:
            if exc.response.get("error") != "no_such_subteam":
                raise
            disabled = True
    with engine.begin() as conn:
        if disabled:
            changed = _forget_groups(conn, [group_id])
        else:
            if handle is None:
                handle = conn.execute(select(GROUPS.c.handle).where(GROUPS.c.group_id == group_id)).scalar() or ""
            changed = write_groups(conn, {group_id: (handle, members)}, now, complete=False)
    if changed:
        people_changed()
    return frozenset(members)


# --- writing: only what changed, and never over a newer row ------------------------------------
def write_people(conn: Connection, people: list[Someone], now: datetime, *, complete: bool) -> int:
    """Insert and update `people`; with `complete` (everyone Slack has), also delete the rest.
    Returns how many rows changed."""
    fresh = {p.user_id: p for p in people}
    query = select(PEOPLE.c.user_id, PEOPLE.c.name, PEOPLE.c.tz, PEOPLE.c.deleted, PEOPLE.c.refreshed_at)
    if not complete:  # one person's event: read their row, not the whole workspace's
        query = query.where(PEOPLE.c.user_id.in_(list(fresh)))
    existing = {row.user_id: row for row in conn.execute(query)}
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for person in fresh.values():
        row = existing.get(person.user_id)
        values = {"name": person.name, "tz": person.tz, "deleted": person.deleted, "refreshed_at": now}
        if row is None:
            added.append({"user_id": person.user_id, **values})
        elif row.refreshed_at <= now and (row.name, row.tz, bool(row.deleted)) != (person.name, person.tz, person.deleted):
            changed.append({"b_id": person.user_id, **values})
    gone = [{"b_id": uid} for uid, row in existing.items()
            if complete and uid not in fresh and row.refreshed_at <= now]
    if added:
        conn.execute(insert(PEOPLE), added)
    if changed:
        conn.execute(update(PEOPLE).where(PEOPLE.c.user_id == bindparam("b_id"))
                     .values(name=bindparam("name"), tz=bindparam("tz"), deleted=bindparam("deleted"),
                             refreshed_at=bindparam("refreshed_at")), changed)
    if gone:
        conn.execute(delete(PEOPLE).where(PEOPLE.c.user_id == bindparam("b_id")), gone)
    return len(added) + len(changed) + len(gone)


def write_groups(conn: Connection, groups: dict[str, tuple[str, set[str]]], now: datetime, *,
                 complete: bool) -> int:
    """Insert and update user groups and their members; with `complete` (every enabled group
    Slack has), forget the rest. Returns how many groups changed."""
    groups_query = select(GROUPS.c.group_id, GROUPS.c.handle, GROUPS.c.refreshed_at)
    members_query = select(MEMBERS.c.group_id, MEMBERS.c.user_id)
    if not complete:  # one group's event: read that group, not every group and member
        groups_query = groups_query.where(GROUPS.c.group_id.in_(list(groups)))
        members_query = members_query.where(MEMBERS.c.group_id.in_(list(groups)))
    existing = {gid: (handle, at) for gid, handle, at in conn.execute(groups_query)}
    members: dict[str, set[str]] = {gid: set() for gid in existing}
    for gid, uid in conn.execute(members_query):
        members[gid].add(uid)
    changed = 0
    for gid, (handle, users) in groups.items():
        if gid not in existing:
            conn.execute(insert(GROUPS).values(group_id=gid, handle=handle, refreshed_at=now))
        elif existing[gid][1] > now or (existing[gid][0], members[gid]) == (handle, users):
            continue  # written by an event after this refresh began, or nothing new
        else:
            conn.execute(update(GROUPS).where(GROUPS.c.group_id == gid).values(handle=handle, refreshed_at=now))
        had = members.get(gid, set())
        if had - users:
            conn.execute(delete(MEMBERS).where(MEMBERS.c.group_id == gid, MEMBERS.c.user_id == bindparam("b_user")),
                         [{"b_user": uid} for uid in sorted(had - users)])
        if users - had:
            conn.execute(insert(MEMBERS), [{"group_id": gid, "user_id": uid} for uid in sorted(users - had)])
        changed += 1
    if complete:
        changed += _forget_groups(conn, [gid for gid, (_, at) in existing.items() if gid not in groups and at <= now])
    return changed


def _forget_groups(conn: Connection, group_ids: list[str]) -> int:
    forgotten = 0
    for gid in group_ids:  # members first: no reliance on the database cascading
        conn.execute(delete(MEMBERS).where(MEMBERS.c.group_id == gid))
        forgotten += conn.execute(delete(GROUPS).where(GROUPS.c.group_id == gid)).rowcount
    return forgotten
