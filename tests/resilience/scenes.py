"""Workflows and people's actions shared by the resilience tests, sent as Slack sends them."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from bot.slack.blocks import actions as a
from tests.slack.signed import post, slash_command

CHANNELS = ("alpha", "beta", "gamma")


def relay(channel: str) -> str:
    """A run of three tasks the starter finishes by button, in `#channel`, with an approval."""
    return f"""
id: relay-{channel}
channel: "#{channel}"
roles: {{team: [U01ANN, U02BOB], approvers: [U03CAT, U04DAN]}}
permissions: {{start: [team]}}
steps:
  - {{id: one, ask: starter, prompt: "First task"}}
  - {{id: two, ask: starter, prompt: "Second task"}}
  - {{id: three, ask: starter, prompt: "Third task"}}
  - {{id: approve, approvers: [approvers]}}
"""


def interactive(url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> int:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    status, _, _ = post(url, body, "application/x-www-form-urlencoded", headers=headers)
    return status


def click_payload(action_id: str, run_id: str, step_id: str, user: str, n: int, channel: str = "C0WORK",
                  **extra: Any) -> dict[str, Any]:
    """A button pressed in a message: `n` makes its action_ts (and trigger) its own."""
    return {"type": "block_actions", "user": {"id": user}, "team": {"id": "T0FAKETEAM"}, "trigger_id": f"trig{n}",
            "channel": {"id": channel}, "container": {"type": "message"}, "api_app_id": "A0APP",
            "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "action_ts": f"1700000{n:03d}.0",
                         "value": a.action_value(run_id, step_id, **extra)}]}


def command(url: str, text: str, user: str, trigger: str, channel: str = "C0WORK") -> int:
    status, _, _ = slash_command(url, text, user=user, trigger=trigger, channel=channel)
    return status


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together (as when Slack resends before we answered)."""
    gate = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def go(i: int) -> None:
        gate.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results
