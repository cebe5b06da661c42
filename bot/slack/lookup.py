"""Telling a person something privately, and turning away requests whose shape is not what
Slack sends, before anything reads them. (What a click or a reply is about is the use
cases' to find: `bot.usecases.reads`.)"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_bolt.request.internals import build_context, parse_body
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("conductor.slack")
MAX_DEPTH = 64  # Slack's payloads nest a dozen levels at most


def tell_privately(client: WebClient, user: str, text: str, channel: str | None = None, *,
                   blocks: list[dict[str, Any]] | None = None) -> None:
    """A private note: an ephemeral in `channel`, or a DM. Slack refusing it (a rate limit, a
    channel the bot left) is logged, not raised: what the person did stands either way, and
    a listener that raised would only log an error nobody can act on."""
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
        else:
            client.chat_postMessage(channel=user, text=text, blocks=blocks)
    except SlackApiError as exc:
        log.warning("could not tell %s privately: %s", user, exc.response.get("error") if exc.response else exc)


# --- requests Slack would never send -------------------------------------------------------------
def request_problem(body: bytes, content_type: str, timestamp: str | None) -> tuple[int, str] | None:
    """(HTTP status, why) for a request Bolt cannot even verify or read, or None.

    Bolt raises, and answers 500, on a `X-Slack-Request-Timestamp` that is not a number (a
    request not signed by Slack: 401) and on the bodies `body_problem` describes (400). The
    web layer asks this before handing the request to Bolt."""
    if timestamp is not None:
        try:
            int(timestamp)
        except ValueError:
            return 401, "the request timestamp is not a number"
    why = body_problem(body, content_type)
    return (400, why) if why else None


def body_problem(body: bytes, content_type: str) -> str | None:
    """Why Bolt could not read a request body into a payload, or None.

    Bolt parses the body, and reads the ids of its context (user, team, channel...) from it,
    before it checks the signature; it raises on a body that is not UTF-8, not JSON where JSON
    is due, JSON that is not an object, or ids of shapes Slack never sends (`"user": 0`); an
    `event` that is not an object fails its authorization step. Each of these is a 500 unless
    the web layer asks this first and answers 400. Bolt's own functions decide, so this check
    and Bolt cannot drift apart."""
    try:
        data = parse_body(body.decode("utf-8"), content_type.split(";")[0].strip() or None)
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    except (ValueError, RecursionError):
        return "the payload is not JSON"
    if not isinstance(data, dict):
        return "the payload is not a JSON object"
    if "event" in data and not isinstance(data["event"], dict):
        return "the event is not an object"
    try:
        build_context(BoltContext(), data)
    except Exception:  # noqa: BLE001 - whatever Bolt trips on, it is a shape Slack never sends
        return "the payload's ids are not of the shapes Slack sends"
    return None


def text_problem(body: Any) -> str | None:
    """Why `body` holds text no Slack payload holds (NUL characters, lone surrogates, absurd
    nesting), or None. Such text cannot be stored (PostgreSQL refuses NUL) nor sent on."""
    stack: list[tuple[Any, int]] = [(body, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "nested too deeply"
        if isinstance(value, str):
            if "\x00" in value:
                return "a NUL character in the text"
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "text that is not valid Unicode"
        elif isinstance(value, dict):
            stack.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return None


class PayloadGuard(Middleware):
    """A global middleware (after Slack's signature is verified) that answers 400 to a request
    of one kind whose shape its listeners could not read, so they never see it.

    `is_kind(body)` says whether the request is of the guarded kind; `problem(body)` says what
    is wrong with it, or None. The check is class-based on purpose: Bolt's function middleware
    first converts the body for every listener argument, which itself fails on such shapes."""

    def __init__(self, kind: str, is_kind: Callable[[dict[str, Any]], bool],
                 problem: Callable[[dict[str, Any]], str | None]):
        self.kind, self.is_kind, self.problem = kind, is_kind, problem

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        body = req.body if isinstance(req.body, dict) else {}
        if self.is_kind(body):
            why = text_problem(body) or self.problem(body)
            if why:
                log.warning("refused a malformed %s: %s", self.kind, why)
                return BoltResponse(status=400, body=f"malformed {self.kind}: {why}")
        return next()
