"""Events as plain, typed data: a message that may answer a step, and an App Home opening.

Anything our listeners do not act on (edits, bots, other shapes) reads as None and is left
alone; an event that is not even an object with a type is refused before any listener."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.slack.blocks.text import unescape


@dataclass(frozen=True)
class Reply:
    """A person's message: in a thread (`thread_ts`), or a direct message to the bot."""

    user: str
    channel: str
    text: str  # as typed: Slack's entities for `&`, `<`, `>` turned back into characters
    key: str  # the event's id: a redelivery is the same request
    thread_ts: str | None
    direct: bool  # a DM to the bot outside any thread

    @property
    def where(self) -> str | None:
        """Where a private note goes: an ephemeral in the thread's channel, or a DM."""
        return None if self.direct else self.channel


def is_event_callback(body: dict[str, Any]) -> bool:
    return body.get("type") == "event_callback"


def problem(body: dict[str, Any]) -> str | None:
    """What makes an `event_callback` payload unreadable, or None."""
    event = body.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "no event with a type"
    for key in ("event_id", "team_id", "api_app_id"):
        if body.get(key) is not None and not isinstance(body.get(key), str):
            return f"`{key}` is not text"
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_reply(body: dict[str, Any], event: dict[str, Any]) -> Reply | None:
    """The person's message in a `message` event, or None when it is not one people wrote
    (an edit, a join, a bot's own message) or lacks what an answer needs."""
    if event.get("subtype") or event.get("bot_id"):
        return None
    user, channel, event_id = _text(event.get("user")), _text(event.get("channel")), _text(body.get("event_id"))
    text = event.get("text")
    if user is None or channel is None or event_id is None or not isinstance(text, (str, type(None))):
        return None
    thread_ts = _text(event.get("thread_ts"))
    direct = event.get("channel_type") == "im" and thread_ts is None
    if thread_ts is None and not direct:
        return None
    return Reply(user, channel, unescape(text or ""), f"event:{event_id}", thread_ts, direct)


def home_user(event: dict[str, Any]) -> str | None:
    """Who opened the App Home's Home tab, or None for another tab or a shapeless event."""
    if event.get("tab", "home") != "home":
        return None
    return _text(event.get("user"))
