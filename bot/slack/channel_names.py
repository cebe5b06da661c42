"""Which channel id a workflow's `#name` stands for.

Slack takes a `#name` for `chat.postMessage`, but `conversations.history`, `replies` and
`chat.update` take ids only: a post looked for by name is answered `channel_not_found`, and a
messenger that cannot look can only post blind (a double after a crash). So the messenger
turns every `#name` into its id before it posts or looks, with this.

One listing of the workspace's channels (`conversations.list`, every page, public and the
private ones the bot is in) answers every name; it is kept, and read again on a name it does
not hold (a channel created or renamed since), at most once a minute: `conversations.list` is
Tier 2 (about 20 calls a minute), and a workflow naming a channel that does not exist must not
spend it. Ids learned from Slack's answers to posts are kept too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("conductor.messenger")
PAGE_SIZE = 200  # Slack's advice for conversations.list
RELIST_SECONDS = 60.0
# Without these scopes names cannot be read; posting by name still works, looking does not.
LIST_SCOPES = "channels:read, groups:read"


def is_name(channel: str) -> bool:
    return channel.startswith("#")


class ChannelNames:
    """`#name` -> channel id, from one paged listing kept between calls (thread-safe)."""

    def __init__(self, client: WebClient, *, monotonic: Callable[[], float] = time.monotonic):
        self.client = client
        self.monotonic = monotonic
        self._ids: dict[str, str] = {}
        self._listed_at: float | None = None
        self._refused: str | None = None  # why Slack would not list (said once)
        self._lock = threading.Lock()

    def learn(self, name: str, channel_id: str) -> None:
        if is_name(name) and channel_id:
            with self._lock:
                self._ids[name.lstrip("#")] = channel_id

    def known(self, name: str) -> str | None:
        """The id already known for `name`, without asking Slack."""
        with self._lock:
            return self._ids.get(name.lstrip("#"))

    def id_for(self, name: str) -> str | None:
        """The id of `#name`, or None when Slack does not list such a channel for the bot (or
        will not list at all). Raises SlackApiError on trouble another try may fix (a 429, a
        5xx) and on no answer, so that the caller tries again later."""
        bare = name.lstrip("#")
        with self._lock:
            if bare in self._ids:
                return self._ids[bare]
            now = self.monotonic()
            if self._listed_at is not None and now - self._listed_at < RELIST_SECONDS:
                return None
            listed = self._list()
            if listed is None:
                return None
            self._ids.update(listed)
            self._listed_at = now
            return self._ids.get(bare)

    def _list(self) -> dict[str, str] | None:
        found: dict[str, str] = {}
        cursor = ""
        while True:
            try:
                reply = self.client.conversations_list(types="public_channel,private_channel", exclude_archived=True,
                                                       limit=PAGE_SIZE, **({"cursor": cursor} if cursor else {}))
            except SlackApiError as exc:
                error = str(exc.response.get("error") if exc.response is not None else exc)
                if error in ("missing_scope", "not_allowed_token_type", "invalid_auth", "not_authed"):
                    if self._refused != error:
                        log.warning("cannot read channel names (%s): posts to a #name go out by name and are not"
                                    " looked for after a crash; grant %s", error, LIST_SCOPES)
                    self._refused = error
                    self._listed_at = self.monotonic()
                    return None
                raise
            for channel in reply.get("channels") or []:
                if channel.get("name") and channel.get("id"):
                    found[channel["name"]] = channel["id"]
            cursor = (reply.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                self._refused = None
                return found
