"""A `/conductor` request's fields, checked before the listener reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REQUIRED = ("user_id", "channel_id", "trigger_id")


@dataclass(frozen=True)
class Typed:
    """One `/conductor ...` as a person typed it."""

    user: str
    channel: str
    trigger_id: str  # Slack's id of this request: it opens a form, and keys what it changes
    text: str

    @property
    def where(self) -> str:
        """Private answers go to the channel the command was typed in, as ephemerals."""
        return self.channel


def is_slash_command(body: dict[str, Any]) -> bool:
    return "command" in body


def problem(body: dict[str, Any]) -> str | None:
    """What makes a slash command unreadable, or None."""
    for key in REQUIRED:
        if not isinstance(body.get(key), str) or not body.get(key):
            return f"no `{key}`"
    if not isinstance(body.get("text", ""), str):
        return "`text` is not text"
    return None


def read_command(body: dict[str, Any]) -> Typed:
    """The command in a request `problem` accepted."""
    return Typed(body["user_id"], body["channel_id"], body["trigger_id"], body.get("text") or "")
