"""The local Slack workspace the shell plays in: the local Web API, plus what a person would see
in Slack's own client (their private notes, the modals opened for them, their App Home) and the
messages people write themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.localslack import LocalSlack


@dataclass
class Private:
    """A message only one person sees (`chat.postEphemeral`)."""

    user: str
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None


@dataclass
class Opened:
    """A modal Slack opened for the person whose action carried `trigger_id`."""

    view_id: str
    trigger_id: str


class ShellWorkspace(LocalSlack):
    def __init__(self, **kwargs: Any):
        # Nobody is rate-limited at a rehearsal: the messenger paces itself as in production.
        super().__init__(rate=1000.0, burst=1000, **kwargs)
        self.privates: list[Private] = []
        self.opened: list[Opened] = []
        self.homes: dict[str, dict[str, Any]] = {}

    # --- what Slack's client shows a person -------------------------------------------------
    def _m_chat_postEphemeral(self, p):
        answer = super()._m_chat_postEphemeral(p)
        self.privates.append(Private(str(p.get("user")), self._resolve(p.get("channel")),
                                     str(p.get("text") or ""), p.get("blocks")))
        return answer

    def _m_views_open(self, p):
        answer = super()._m_views_open(p)
        self.opened.append(Opened(answer["view"]["id"], str(p.get("trigger_id"))))
        return answer

    def _m_views_publish(self, p):
        answer = super()._m_views_publish(p)
        self.homes[str(p.get("user_id"))] = answer["view"]
        return answer

    # --- what people write ------------------------------------------------------------------
    def say(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> dict[str, Any]:
        """A person's message in a channel, a thread or a DM; returns it as Slack stores it."""
        with self._lock:
            channel_id = self._resolve(channel)
            message = {"type": "message", "ts": self._next_ts(), "thread_ts": thread_ts, "text": text,
                       "blocks": None, "user": user}
            self._messages[channel_id].append(message)
            return {**message, "channel": channel_id}

    def dm_channel(self, user: str) -> str:
        with self._lock:
            return self._open_dm(user)

    def channel_name(self, channel_id: str) -> str | None:
        with self._lock:
            found = self._channels.get(channel_id, {})
            return found.get("name")

    def conversation_ids(self) -> list[str]:
        with self._lock:
            return [cid for cid, messages in self._messages.items() if messages]

    def is_direct(self, channel_id: str) -> str | None:
        """The user a DM is with, or None for a channel."""
        with self._lock:
            found = self._channels.get(channel_id, {})
            return found.get("user") if found.get("is_im") else None
