"""Slack payloads as dicts, shaped like Slack's, for tests to send as they are or to tamper with."""

from __future__ import annotations

import json
from typing import Any

from bot.slack.blocks import actions as a


def block_action(user: str, action_id: str, value: str | None, n: int = 1, channel: str | None = "C0WORK") -> dict[str, Any]:
    action: dict[str, Any] = {"action_id": action_id, "block_id": "b", "type": "button", "action_ts": f"1700000{n}.0"}
    if value is not None:
        action["value"] = value
    body: dict[str, Any] = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T0FAKETEAM"},
                            "api_app_id": "A0APP", "trigger_id": f"trig-a{n}", "container": {"type": "message"},
                            "actions": [action]}
    if channel:
        body["channel"] = {"id": channel}
    return body


def click(user: str, action_id: str, run_id: str, step_id: str, n: int = 1, **extra: Any) -> dict[str, Any]:
    return block_action(user, action_id, a.action_value(run_id, step_id, **extra), n)


def view_submission(user: str, callback_id: str, meta: dict[str, Any] | str, values: dict[str, Any],
                    view_id: str = "V1") -> dict[str, Any]:
    return {"type": "view_submission", "user": {"id": user}, "team": {"id": "T0FAKETEAM"}, "api_app_id": "A0APP",
            "trigger_id": "trig-v", "view": {
                "id": view_id, "hash": f"h-{view_id}", "callback_id": callback_id, "type": "modal",
                "private_metadata": meta if isinstance(meta, str) else json.dumps(meta),
                "state": {"values": values}}}


def text_value(text: str, kind: str = "plain_text_input") -> dict[str, Any]:
    return {"value": {"type": kind, "value": text}}


def message(user: str, text: str, event_id: str, *, channel: str = "C0WORK", thread_ts: str | None = None,
            channel_type: str = "channel") -> dict[str, Any]:
    event: dict[str, Any] = {"type": "message", "channel": channel, "user": user, "text": text,
                             "ts": "1700000999.0", "channel_type": channel_type}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {"type": "event_callback", "event_id": event_id, "team_id": "T0FAKETEAM", "api_app_id": "A0APP",
            "event": event}
