"""People and user groups of the local workspace, and the methods that read them.

A mixin of `LocalSlack`. `users` maps a user ID to what differs from a plain person (any of
Slack's user fields: `real_name`, `tz`, `deleted`, `is_bot`, ...); `groups` maps a user-group
ID to its members. As Slack does, `users.list` pages by cursor (`limit`, `next_cursor`) and
lists deactivated people too (`deleted: true`); `usergroups.list` with `include_users` lists
each group's members, cut to `group_users_cap` when that is set (so a client must notice
`user_count` is larger and ask `usergroups.users.list`, as for a very large group).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.localslack.channels import MAX_PAGE, _cursor, _flag, _offset
from bot.localslack.errors import SlackError


class PeopleMethods:
    users: dict[str, dict[str, Any]]
    groups: dict[str, list[str]]
    group_handles: dict[str, str]
    group_users_cap: int | None
    team_id: str
    _require: Callable[[str, list[str]], None]

    def _user_object(self, uid: str) -> dict[str, Any]:
        entry = self.users[uid]
        tz = entry.get("tz", "UTC")
        offset = datetime.now(ZoneInfo(tz)).utcoffset() if tz else None
        real_name = entry.get("real_name", uid)
        user = {"id": uid, "team_id": self.team_id, "name": real_name.lower().replace(" ", "."),
                "real_name": real_name, "tz": tz, "tz_label": tz,
                "tz_offset": int(offset.total_seconds()) if offset else 0,
                "is_bot": False, "deleted": False,
                "profile": {"real_name": real_name, "display_name": real_name}}
        return {**user, **entry}

    def _m_users_info(self, p):
        uid = p.get("user")
        if uid not in self.users:
            raise SlackError("user_not_found")
        return {"user": self._user_object(uid)}

    def _m_users_list(self, p):
        """Everyone, deactivated people included, a page at a time: `limit` (0 or none: all
        at once, as Slack still answers small workspaces), `cursor` from the last page."""
        try:
            limit = int(p.get("limit") or 0)
        except ValueError:
            raise SlackError("invalid_limit") from None
        everyone = list(self.users)
        start = _offset(p.get("cursor"))
        size = min(max(limit, 1), MAX_PAGE) if limit else len(everyone) - start
        page = everyone[start:start + size]
        following = _cursor(start + size) if start + size < len(everyone) else ""
        return {"members": [self._user_object(uid) for uid in page], "cache_ts": 0,
                "response_metadata": {"next_cursor": following}}

    def _m_usergroups_list(self, p):
        """Every user group of the workspace; members with `include_users`."""
        with_users = _flag(p.get("include_users", ""))
        found = []
        for group_id, members in self.groups.items():
            handle = self.group_handles.get(group_id, group_id.lower())
            group = {"id": group_id, "team_id": self.team_id, "is_usergroup": True,
                     "name": handle, "handle": handle, "date_delete": 0, "user_count": len(members)}
            if with_users:
                cap = self.group_users_cap
                group["users"] = list(members) if cap is None else list(members)[:cap]
            found.append(group)
        return {"usergroups": found}

    def _m_usergroups_users_list(self, p):
        group = p.get("usergroup")
        if group not in self.groups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.groups[group])}
