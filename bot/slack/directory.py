"""Users and user groups asked of Slack one question at a time, with a cache.

Superseded: the engine's directory is `bot.engine.people.StoredDirectory`, read from tables
the refresher (`bot.slack.people`) fills. Do not hand this one to `build_runtime`: the engine
asks its directory inside transactions, and every cache miss here is a Web API call (up to
the client's 10 s) made while the write lock is held. It stays only until the processes that
still build one (`conductor serve`, `conductor clock`, the shell) stop doing so.

Group membership decides permissions, so a lookup that fails answers "no members" (deny)
rather than guessing, and is tried again on the next question instead of being cached.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient

log = logging.getLogger("conductor.directory")


class SlackDirectory:
    def __init__(self, client: WebClient, *, ttl_seconds: float = 300.0, monotonic: Callable[[], float] = time.monotonic):
        self.client = client
        self.ttl = ttl_seconds
        self.monotonic = monotonic
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._zones: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def group_members(self, group_id: str) -> frozenset[str]:
        with self._lock:
            cached = self._groups.get(group_id)
        if cached and self.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            users = frozenset(self.client.usergroups_users_list(usergroup=group_id)["users"])
        except Exception as exc:  # noqa: BLE001 - unknown membership means no membership
            log.warning("could not list user group %s: %s", group_id, exc)
            return cached[1] if cached else frozenset()
        with self._lock:
            self._groups[group_id] = (self.monotonic(), users)
        return users

    def is_away(self, user_id: str, day: object) -> bool:
        return False  # Slack knows nothing of it; away days are in the database

    def user_timezone(self, user_id: str) -> str | None:
        """The IANA time zone Slack has for a user (for stand-ups), or None."""
        with self._lock:
            cached = self._zones.get(user_id)
        if cached and self.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            zone = self.client.users_info(user=user_id)["user"].get("tz")
        except Exception as exc:  # noqa: BLE001
            log.warning("could not read user %s: %s", user_id, exc)
            return cached[1] if cached else None
        with self._lock:
            self._zones[user_id] = (self.monotonic(), zone)
        return zone
