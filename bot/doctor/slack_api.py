"""Calls to the Slack Web API that never raise: each gives a `Reply` with what Slack answered,
or why there was no answer to read (connection refused, a timeout, a 5xx)."""

from __future__ import annotations

import socket
import time
import urllib.error
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import Settings
from bot.slack.client import make_client, retry_after

CALL_TIMEOUT_SECONDS = 10
RATE_LIMIT_RETRIES = 3
LONGEST_WAIT_SECONDS = 30
PAGE_SIZE = 200  # Slack's advice for conversations.list
MAX_PAGES = 500  # a guard against a cursor that never ends


@dataclass(frozen=True)
class NoAnswer:
    """Why a call has no answer to read (`text.no_answer` words it)."""

    timeout: float | None = None  # seconds waited in vain
    status: int | None = None  # the HTTP status of an answer that is not Slack's JSON, or a 5xx
    reason: str | None = None  # the system's words (Connection refused), or Slack's error with a 5xx


@dataclass(frozen=True)
class Reply:
    data: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    error: str | None = None  # Slack's error code, when it refused
    unreachable: NoAnswer | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.unreachable is None


def slack_client(settings: Settings, token: str | None = None) -> WebClient:
    """The client the app uses (SLACK_API_URL), with the bot token or `token` instead."""
    client = make_client(settings, timeout=CALL_TIMEOUT_SECONDS)
    if token is not None:
        client.token = token
    return client


def call(client: WebClient, method: str, *, sleep: Callable[[float], None] = time.sleep, **params: Any) -> Reply:
    """Call `method`; a 429 is waited out (Retry-After) a few times before it counts."""
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        try:
            response = client.api_call(method, params=params)
            return Reply(dict(response.data) if isinstance(response.data, dict) else {}, _lower(response.headers))
        except SlackApiError as exc:
            reply = _refusal(exc)
            if reply.error == "ratelimited" and attempt < RATE_LIMIT_RETRIES:
                sleep(min(retry_after(reply.headers), LONGEST_WAIT_SECONDS))
                continue
            return reply
        except Exception as exc:  # noqa: BLE001 - any failure to get an answer is a finding
            return Reply(unreachable=describe_failure(exc, client.timeout))
    raise AssertionError("unreachable")


def pages(client: WebClient, method: str, **params: Any) -> Iterator[Reply]:
    """Every page of a cursor-paged method (`response_metadata.next_cursor`); stops at the
    first reply that is not ok (yielding it)."""
    cursor = ""
    for _ in range(MAX_PAGES):
        paging: dict[str, Any] = {"limit": PAGE_SIZE, **({"cursor": cursor} if cursor else {})}
        reply = call(client, method, **paging, **params)
        yield reply
        cursor = str((reply.data.get("response_metadata") or {}).get("next_cursor") or "")
        if not reply.ok or not cursor:
            return


def describe_failure(exc: BaseException, timeout: float) -> NoAnswer:
    """What went wrong with a call that got no answer (after `timeout` seconds at most)."""
    reason: Any = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return NoAnswer(timeout=timeout)
    if isinstance(reason, OSError) and reason.strerror:
        return NoAnswer(reason=reason.strerror)
    return NoAnswer(reason=str(reason) or type(reason).__name__)


def _refusal(exc: SlackApiError) -> Reply:
    response = exc.response
    status = getattr(response, "status_code", 0) or 0
    data = response.data if isinstance(getattr(response, "data", None), dict) else {}
    headers = _lower(getattr(response, "headers", None) or {})
    if status == 429:
        return Reply(data, headers, error="ratelimited")
    if status >= 500 or not data.get("error"):
        return Reply(data, headers, unreachable=NoAnswer(status=status, reason=data.get("error")))
    return Reply(data, headers, error=str(data["error"]))


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
