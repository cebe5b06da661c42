"""A conversation's history and a thread's replies, paged as Slack pages them.

A mixin of `LocalSlack`. `conversations.history` answers the top-level messages (thread parents
included, replies not) newest first; `conversations.replies` answers the thread's parent and
then its replies oldest first. Both take, as Slack does:

- `limit`: messages per page, 1..1000 (anything else is `invalid_limit`); 100 when not given.
  In `conversations.replies` the parent opens every page and is not counted.
- `oldest` / `latest`: a window of `ts`, each end exclusive unless `inclusive` is true (Slack's
  rule); no `latest` means up to now. A `ts` that is not a number is `invalid_ts_oldest` or
  `invalid_ts_latest`.
- `cursor`: the `response_metadata.next_cursor` of the page before (opaque; a bad one is
  `invalid_cursor`). It names the first message of the next page, so messages posted while a
  client pages do not shift the pages it has still to read.

and answer `has_more` and `response_metadata.next_cursor` (`""` on the last page).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.localslack.channels import _flag
from bot.localslack.errors import SlackError

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


def _ts(message: dict[str, Any]) -> Decimal:
    return Decimal(str(message["ts"]))


def _ts_param(value: Any, error: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        found = Decimal(str(value))
    except InvalidOperation:
        raise SlackError(error) from None
    if not found.is_finite() or found < 0:
        raise SlackError(error)
    return found


def _limit(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise SlackError("invalid_limit")
    return limit


def ts_cursor(ts: str) -> str:
    return base64.urlsafe_b64encode(f"next_ts:{ts}".encode()).decode()


def _cursor_ts(cursor: Any) -> Decimal | None:
    if not cursor:
        return None
    try:
        kind, _, ts = base64.urlsafe_b64decode(str(cursor).encode()).decode().partition(":")
        if kind == "next_ts":
            return Decimal(ts)
    except (ValueError, UnicodeDecodeError, InvalidOperation):
        pass
    raise SlackError("invalid_cursor")


def _window(p: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """Whether a message falls between `oldest` and `latest` (exclusive unless `inclusive`)."""
    oldest = _ts_param(p.get("oldest"), "invalid_ts_oldest")
    latest = _ts_param(p.get("latest"), "invalid_ts_latest")
    inclusive = _flag(p.get("inclusive", ""))

    def within(message: dict[str, Any]) -> bool:
        ts = _ts(message)
        if oldest is not None and (ts < oldest if inclusive else ts <= oldest):
            return False
        return latest is None or (ts <= latest if inclusive else ts < latest)

    return within


def _page(found: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The first `limit` of `found` (already in answer order), and the paging fields."""
    page, rest = found[:limit], found[limit:]
    following = ts_cursor(rest[0]["ts"]) if rest else ""
    return page, {"has_more": bool(rest), "response_metadata": {"next_cursor": following}}


class HistoryMethods:
    _messages: dict[str, list[dict[str, Any]]]
    _by_id: Callable[[Any], str]  # LocalSlack's: a conversation id, or `channel_not_found`

    @staticmethod
    def _visible(message: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        shown = dict(message)
        if not _flag(p.get("include_all_metadata", "")):
            shown.pop("metadata", None)
        return shown

    def _m_conversations_history(self, p):
        """Top-level messages, newest first, a page at a time."""
        channel = self._by_id(p.get("channel"))
        limit, within, start = _limit(p.get("limit")), _window(p), _cursor_ts(p.get("cursor"))
        found = [m for m in reversed(self._messages[channel])
                 if (not m.get("thread_ts") or m["thread_ts"] == m["ts"]) and within(m)
                 and (start is None or _ts(m) <= start)]
        page, paging = _page(found, limit)
        return {"messages": [self._visible(m, p) for m in page], **paging}

    def _m_conversations_replies(self, p):
        """A thread, a page at a time: its parent on every page, then replies oldest first."""
        channel = self._by_id(p.get("channel"))
        ts = p.get("ts")
        limit, within, start = _limit(p.get("limit")), _window(p), _cursor_ts(p.get("cursor"))
        parent = next((m for m in self._messages[channel] if m["ts"] == ts), None)
        if parent is None:
            raise SlackError("thread_not_found")
        replies = [m for m in self._messages[channel]
                   if m.get("thread_ts") == ts and m["ts"] != ts and within(m)
                   and (start is None or _ts(m) >= start)]
        page, paging = _page(replies, limit)
        return {"messages": [self._visible(m, p) for m in [parent, *page]], **paging}
