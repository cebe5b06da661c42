"""Channels of the local workspace and the methods that list, describe and join them.

A mixin of `LocalSlack`. A channel exists once it is declared (`add_channel`) or first posted
to by name or id (the bot is then taken to be in it, which is what every older test relied
on). Declared channels say whether they are private, archived and whether the bot is a member,
and the methods answer like Slack for a bot token: `conversations.list` pages with cursors and
shows private channels only to members, `conversations.info` does not know private channels
the bot is not in, `conversations.join` joins public channels only, and `chat.postMessage`
reaches a public channel the bot is not in only with `chat:write.public`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from bot.localslack.errors import SlackError

DEFAULT_PAGE, MAX_PAGE = 100, 1000


def stable_id(prefix: str, key: str) -> str:
    """The same id for the same name, in every run of the tests."""
    return prefix + hashlib.sha1(key.encode()).hexdigest()[:10].upper()


def channel_kind(channel: dict[str, Any]) -> str:
    """`public_channel`, `private_channel` or `im`, as `conversations.list` types name them."""
    if channel.get("is_im"):
        return "im"
    return "private_channel" if channel.get("is_private") else "public_channel"


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(str(cursor).encode()).decode().partition(":")
        if kind == "offset" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise SlackError("invalid_cursor")


def _flag(value: Any) -> bool:
    return str(value).lower() in ("true", "1")


class ChannelMethods:
    _channels: dict[str, dict[str, Any]]
    _names: dict[str, str]
    scopes: set[str]
    _require: Callable[[str, list[str]], None]  # LocalSlack's: raises `missing_scope`

    def add_channel(self, name: str, *, member: bool = True, private: bool = False,
                    archived: bool = False, channel_id: str | None = None) -> str:
        """Declare a channel (`#name` or `name`); returns its id."""
        name = name.lstrip("#")
        with self._lock:  # type: ignore[attr-defined]
            cid = channel_id or self._names.get(name) or stable_id("C", name)
            self._channels[cid] = {
                "id": cid, "name": name, "is_channel": not private, "is_group": private,
                "is_im": False, "is_private": private, "is_archived": archived, "is_member": member,
                "num_members": 1 if member else 0,
            }
            self._names[name] = cid
            return cid

    def _known(self, channel_id: Any) -> dict[str, Any]:
        """A conversation the bot may see (private ones only as a member)."""
        found = self._channels.get(channel_id) if isinstance(channel_id, str) else None
        if found is None or (found.get("is_private") and not found.get("is_member")):
            raise SlackError("channel_not_found")
        return found

    def _check_can_post(self, channel_id: str) -> None:
        channel = self._channels.get(channel_id, {})
        if channel.get("is_archived"):
            raise SlackError("is_archived")
        if channel.get("is_member", True) or channel.get("is_im"):
            return
        if channel.get("is_private"):
            raise SlackError("channel_not_found")
        if "chat:write.public" not in self.scopes:
            raise SlackError("not_in_channel")

    def _m_conversations_list(self, p):
        kinds = [k for k in str(p.get("types") or "public_channel").split(",") if k]
        self._require("conversations.list", kinds)
        try:
            limit = min(max(int(p.get("limit") or DEFAULT_PAGE), 1), MAX_PAGE)
        except ValueError:
            raise SlackError("invalid_limit") from None
        start = _offset(p.get("cursor"))
        visible = [dict(c) for c in self._channels.values()
                   if channel_kind(c) in kinds and c.get("name") is not None
                   and not (c.get("is_private") and not c.get("is_member"))
                   and not (_flag(p.get("exclude_archived")) and c.get("is_archived"))]
        page = visible[start:start + limit]
        following = _cursor(start + limit) if start + limit < len(visible) else ""
        return {"channels": page, "response_metadata": {"next_cursor": following}}

    def _m_conversations_info(self, p):
        found = self._channels.get(p.get("channel")) if isinstance(p.get("channel"), str) else None
        self._require("conversations.info", [channel_kind(found or {})])
        return {"channel": dict(self._known(p.get("channel")))}

    def _m_conversations_join(self, p):
        channel = self._known(p.get("channel"))
        if channel.get("is_im") or channel.get("is_private"):
            raise SlackError("method_not_supported_for_channel_type")
        if channel.get("is_archived"):
            raise SlackError("is_archived")
        answer: dict[str, Any] = {}
        if channel.get("is_member"):
            answer["warning"] = "already_in_channel"
        channel["is_member"] = True
        return {**answer, "channel": dict(channel)}
