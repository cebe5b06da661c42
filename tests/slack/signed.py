"""Requests shaped and signed like Slack's, sent over real HTTP to the running app."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from bot.localslack.requests import sign as slack_signature

SIGNING_SECRET = "test-signing-secret"


def sign(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    return slack_signature(body, timestamp, secret)


def post(url: str, body: bytes, content_type: str, *, timestamp: int | None = None, signature: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
    """POST to the app; returns (status, body, seconds taken)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature if signature is not None else sign(body, timestamp),
        **(headers or {}),
    })
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read(), time.perf_counter() - started


def slash_command(url: str, text: str, *, user: str = "U01ANN", channel: str = "C0TEST", trigger: str = "t1", **kw: Any):
    form = {"command": "/conductor", "text": text, "user_id": user, "user_name": user.lower(), "channel_id": channel,
            "team_id": "T0FAKETEAM", "trigger_id": trigger, "response_url": "http://127.0.0.1:9/unused"}
    return post(url, urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded", **kw)


def event(url: str, payload: dict[str, Any], **kw: Any):
    return post(url, json.dumps(payload).encode(), "application/json", **kw)
