"""The directory the engine asks about people, answered from memory.

A transition holds the database's write lock (SQLite) or its run's row lock (PostgreSQL), so
nothing it asks may wait: not on Slack, not even on another database connection. What it
needs to know about people (user-group members, time zones, away days) is therefore read
from the tables the refresher (`bot.slack.people`) keeps filled from Slack and from
`away_periods`, into a snapshot, *before* the transaction opens: the service calls
`prepare()` first, and the transition then reads only the snapshot.

`prepare()` is cheap. Within `check_seconds` of the last look it does nothing; after that it
reads a small version token (row counts and the newest `refreshed_at`/id of each table) and
reloads only when the token moved. Writes made in this process (away days, a refresh) bump
`people_changed()`, which makes the next `prepare()` reload at once; writes by another
process are seen within `check_seconds`.

Someone Slack has not told us about has no time zone here (`None`): the stand-up falls back
to the workflow's zone, and the next stand-up after the refresh uses theirs.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from bot.engine.permissions import Directory
from bot.store.db import READ_ONLY
from bot.store.models import AwayPeriod, Person, UserGroup, UserGroupMember

PEOPLE, GROUPS, MEMBERS, AWAY = Person.__table__, UserGroup.__table__, UserGroupMember.__table__, AwayPeriod.__table__
CHECK_SECONDS = 5.0

_generation = 0
_generation_lock = threading.Lock()


def people_changed() -> None:
    """Say that this process just committed a change to people, groups or away days: every
    stored directory in the process reloads on its next `prepare()`."""
    global _generation
    with _generation_lock:
        _generation += 1


def _current_generation() -> int:
    return _generation


@dataclass(frozen=True)
class Snapshot:
    """People as the tables held them at one moment (never changed once built)."""

    groups: Mapping[str, frozenset[str]]
    zones: Mapping[str, str | None]
    away: Mapping[str, tuple[tuple[date, date], ...]]
    token: tuple[Any, ...]
    generation: int


# Moves whenever a row is added, removed or refreshed (a refresh stamps `refreshed_at`; an
# away period added gets a new id, one removed lowers the count). One statement, one round trip.
_TOKEN = select(*(query.scalar_subquery() for query in (
    select(func.count()).select_from(PEOPLE), select(func.max(PEOPLE.c.refreshed_at)),
    select(func.count()).select_from(GROUPS), select(func.max(GROUPS.c.refreshed_at)),
    select(func.count()).select_from(MEMBERS),
    select(func.count()).select_from(AWAY), select(func.max(AWAY.c.id)),
)))


def _token(conn: Connection) -> tuple[Any, ...]:
    return tuple(conn.execute(_TOKEN).one())


def load_snapshot(conn: Connection, generation: int = 0) -> Snapshot:
    """Read every person, group membership and away period (one consistent read)."""
    token = _token(conn)
    zones: dict[str, str | None] = {}
    gone: set[str] = set()
    for user_id, tz, deleted in conn.execute(select(PEOPLE.c.user_id, PEOPLE.c.tz, PEOPLE.c.deleted)):
        zones[user_id] = tz
        if deleted:
            gone.add(user_id)
    members: dict[str, set[str]] = defaultdict(set)
    for group_id, user_id in conn.execute(select(MEMBERS.c.group_id, MEMBERS.c.user_id)):
        if user_id not in gone:  # a deactivated person may still be listed until Slack drops them
            members[group_id].add(user_id)
    for (group_id,) in conn.execute(select(GROUPS.c.group_id)):
        members.setdefault(group_id, set())
    away: dict[str, list[tuple[date, date]]] = defaultdict(list)
    # All of them, not only those still to come: the service's clock may be a rehearsal's,
    # anywhere in time. A row is a person's sentence about a few days; there are few.
    for user_id, starts_on, ends_on in conn.execute(
        select(AWAY.c.user_id, AWAY.c.starts_on, AWAY.c.ends_on).order_by(AWAY.c.starts_on)
    ):
        away[user_id].append((starts_on, ends_on))
    return Snapshot(
        groups={group: frozenset(users) for group, users in members.items()},
        zones=zones,
        away={user: tuple(periods) for user, periods in away.items()},
        token=token,
        generation=generation,
    )


class StoredDirectory:
    """The engine's `Directory`, from the people tables (and `away_periods`), in memory.

    `inner`: a directory that answers groups and time zones instead of the tables (tests pass
    a `StaticDirectory`); away days still come from the database. `default_zone`: the zone
    of someone with none known (None: the workflow's, which the stand-up code picks).
    """

    def __init__(self, engine: Engine, *, default_zone: str | None = None, inner: Directory | None = None,
                 check_seconds: float = CHECK_SECONDS, monotonic: Callable[[], float] = time.monotonic):
        self.engine = engine
        self.default_zone = default_zone
        self.inner = inner
        self.check_seconds = check_seconds
        self.monotonic = monotonic
        self._snapshot: Snapshot | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self.loads = 0  # how many times the snapshot was read in full (tests and figures)

    def prepare(self) -> None:
        """Bring the snapshot up to date. Call it before opening a transaction: it may read
        the database (one read-only connection), which the transition itself never does."""
        if self._fresh():
            return
        with self._lock:  # one thread reads; the others wait for that read, not a second one
            if self._fresh():
                return
            generation = _current_generation()
            with self.engine.connect().execution_options(**READ_ONLY) as conn, conn.begin():
                snapshot = self._snapshot
                if snapshot is None or snapshot.generation != generation or _token(conn) != snapshot.token:
                    self._snapshot = load_snapshot(conn, generation)
                    self.loads += 1
            self._checked = self.monotonic()

    def _fresh(self) -> bool:
        snapshot = self._snapshot
        return (snapshot is not None and snapshot.generation == _current_generation()
                and self.monotonic() - self._checked < self.check_seconds)

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot in use; read once if there is none yet (a caller outside any
        transaction that did not `prepare()`, such as a read-only query)."""
        snapshot = self._snapshot
        if snapshot is None:
            self.prepare()
            snapshot = self._snapshot
            assert snapshot is not None
        return snapshot

    # --- the Directory port: memory only ----------------------------------------------------
    def group_members(self, group_id: str) -> frozenset[str]:
        if self.inner is not None:
            return self.inner.group_members(group_id)
        return self.snapshot.groups.get(group_id, frozenset())

    def user_timezone(self, user_id: str) -> str | None:
        zone = self.inner.user_timezone(user_id) if self.inner is not None else self.snapshot.zones.get(user_id)
        return zone or self.default_zone

    def is_away(self, user_id: str, day: date) -> bool:
        if any(start <= day <= end for start, end in self.snapshot.away.get(user_id, ())):
            return True
        return self.inner is not None and self.inner.is_away(user_id, day)
