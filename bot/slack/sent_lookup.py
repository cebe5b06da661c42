"""Whether Slack already holds a post whose answer never reached us.

Each post carries its outbox row's key in Slack message metadata; a post whose fate is unknown
is looked for by that key before it is sent again. A busy channel has more than one page of
history since the post was first tried, so the search pages (with Slack's cursor) until it has
read everything newer than `oldest`, the time of the first try less a margin for clocks; a
search that read one page only would miss, and post twice.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

METADATA_TYPE = "conductor_message"
PAGE_SIZE = 200  # history's pages are capped near 1,000; 200 keeps each answer small
MAX_PAGES = 50  # 10,000 messages since the first try: past that, looking costs more than it saves


class TooMuchHistory(Exception):
    """More history since the first try than is worth reading."""


def metadata_for(key: str) -> dict[str, Any]:
    return {"event_type": METADATA_TYPE, "event_payload": {"key": key}}


def carries(message: dict[str, Any], key: str) -> bool:
    meta = message.get("metadata") or {}
    return meta.get("event_type") == METADATA_TYPE and (meta.get("event_payload") or {}).get("key") == key


def find_posted(client: WebClient, *, channel: str, key: str, oldest: str, thread_ts: str | None = None) -> str | None:
    """The ts of the message carrying `key` in `channel` (in the thread `thread_ts`, when
    given) newer than `oldest`, or None. Raises SlackApiError when Slack cannot be asked."""
    cursor = ""
    for _ in range(MAX_PAGES):
        paging: dict[str, Any] = {"cursor": cursor} if cursor else {}
        if thread_ts:
            try:
                reply = client.conversations_replies(channel=channel, ts=thread_ts, oldest=oldest, limit=PAGE_SIZE,
                                                     include_all_metadata=True, **paging)
            except SlackApiError as exc:
                if exc.response.get("error") == "thread_not_found":
                    return None  # nothing in the thread since the row was written
                raise
        else:
            reply = client.conversations_history(channel=channel, oldest=oldest, limit=PAGE_SIZE,
                                                 include_all_metadata=True, **paging)
        for message in reply.get("messages") or []:
            if carries(message, key):
                return str(message.get("ts"))
        cursor = (reply.get("response_metadata") or {}).get("next_cursor") or ""
        if not reply.get("has_more") or not cursor:
            return None
    raise TooMuchHistory(f"more than {MAX_PAGES * PAGE_SIZE} messages since the first try")
