"""A `/conductor` request's fields, checked before the listener reads them."""

from __future__ import annotations

from typing import Any

REQUIRED = ("user_id", "channel_id", "trigger_id")


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
