"""What Slack sends to the app: slash commands, button clicks, form submissions and events,
shaped as Slack shapes them and signed with the app's signing secret (Slack's v0 scheme).

The local Slack uses these to play the people's side; nothing reaches the app any other way.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

FORM = "application/x-www-form-urlencoded"


def sign(body: bytes, timestamp: int, secret: str) -> str:
    """Slack's request signature: `v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Answer:
    """The app's answer to one request."""

    status: int
    body: bytes
    seconds: float

    def json(self) -> dict[str, Any] | None:
        try:
            found = json.loads(self.body.decode() or "null")
        except ValueError:
            return None
        return found if isinstance(found, dict) else None


@dataclass
class SlackRequests:
    """Signed requests to the app at `url` (its `/slack/events` address)."""

    url: str
    secret: str
    team_id: str = "T0LOCAL"
    api_app_id: str = "A0CONDUCTOR"
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def post(self, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> Answer:
        timestamp = int(time.time())
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(body, timestamp, self.secret),
            **(headers or {}),
        })
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, response.read(), time.perf_counter() - started)
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read(), time.perf_counter() - started)

    def interactive(self, payload: dict[str, Any]) -> Answer:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, FORM)

    def command(self, *, user: str, user_name: str, channel: str, text: str, trigger_id: str) -> Answer:
        form = {"command": "/conductor", "text": text, "user_id": user, "user_name": user_name,
                "channel_id": channel, "team_id": self.team_id, "trigger_id": trigger_id,
                "api_app_id": self.api_app_id, "response_url": "http://127.0.0.1:9/unused"}
        return self.post(urllib.parse.urlencode(form).encode(), FORM)

    def click(self, *, user: str, channel: str | None, message_ts: str | None, action: dict[str, Any],
              trigger_id: str, view: dict[str, Any] | None = None) -> Answer:
        """A button pressed in a message (or in a view, such as App Home, when `view` is given)."""
        pressed = {"action_id": action.get("action_id"), "block_id": action.get("block_id", ""),
                   "type": action.get("type", "button"), "value": action.get("value", ""),
                   "action_ts": f"{time.time():.6f}"}
        payload: dict[str, Any] = {
            "type": "block_actions", "user": {"id": user}, "team": {"id": self.team_id},
            "api_app_id": self.api_app_id, "trigger_id": trigger_id, "actions": [pressed],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = view
        else:
            payload["container"] = {"type": "message", "message_ts": message_ts, "channel_id": channel}
            payload["channel"] = {"id": channel}
            payload["message"] = {"ts": message_ts}
        return self.interactive(payload)

    def submit(self, *, user: str, view: dict[str, Any], values: dict[str, Any]) -> Answer:
        """A modal submitted with `values` (Slack's `view.state.values`)."""
        submitted = {**view, "state": {"values": values}}
        return self.interactive({
            "type": "view_submission", "user": {"id": user}, "team": {"id": self.team_id},
            "api_app_id": self.api_app_id, "trigger_id": self.next_id("trig"), "view": submitted,
        })

    def event(self, event: dict[str, Any]) -> Answer:
        envelope = {"type": "event_callback", "team_id": self.team_id, "api_app_id": self.api_app_id,
                    "event_id": self.next_id("Ev"), "event_time": int(time.time()), "event": event}
        return self.post(json.dumps(envelope).encode(), "application/json")

    def message(self, *, user: str, channel: str, text: str, ts: str, thread_ts: str | None = None,
                direct: bool = False) -> Answer:
        event = {"type": "message", "user": user, "channel": channel, "text": text, "ts": ts,
                 "channel_type": "im" if direct else "channel"}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event)

    def home_opened(self, *, user: str, channel: str) -> Answer:
        return self.event({"type": "app_home_opened", "user": user, "channel": channel, "tab": "home"})
