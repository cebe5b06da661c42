"""The Slack Web API client, pointed at `SLACK_API_URL` (Slack, GovSlack, a proxy or a fake)."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.settings import Settings


def make_client(settings: Settings, *, timeout: float | None = None) -> WebClient:
    """A client without the SDK's own retries: the messenger retries durably, from the outbox.

    `timeout` (seconds; default SLACK_TIMEOUT_SECONDS) bounds each call; the messenger treats a call that ran out of time as
    one Slack may still have applied (see `bot.slack.messenger`)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    seconds = settings.slack_timeout_seconds if timeout is None else timeout
    return WebClient(token=token, base_url=base_url, timeout=seconds, retry_handlers=[])


def retry_after(headers: Any) -> float:
    """Seconds a 429's `Retry-After` asks us to wait (any letter case; 1 when missing or
    unreadable, never below 0)."""
    value = next((v for k, v in dict(headers or {}).items() if str(k).lower() == "retry-after"), None)
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0
