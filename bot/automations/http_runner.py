"""`http:`: one HTTP request whose JSON answer becomes the step's outputs (standard library only).

The request
-----------
- `method` and `url` (http or https only); secrets resolved in the url, headers, json and
  signing secret before the call.
- The body is `json` serialised with sorted keys and no spaces, UTF-8 encoded, sent with
  `Content-Type: application/json`. With no `json` the body is empty (and a GET or DELETE
  then sends none at all).
- Always sent: `Idempotency-Key: <key>` (the same for every try of one step attempt, so a
  receiver can ignore repeats) and `User-Agent: Conductor` (unless `headers` gives another).
- Redirects are not followed: an answer 3xx is a failure, so credentials never go elsewhere.

Signing (`sign: {secret: "${{ secrets.KEY }}", header: X-Conductor-Signature}`)
--------------------------------------------------------------------------------
The header holds `t=<unix seconds>,v1=<hex HMAC-SHA256>` where the HMAC key is the secret
(UTF-8) and the message is the timestamp, a dot, and the raw body bytes: `b"<t>." + body`.
A receiver verifies it like this, and should also reject timestamps more than a few minutes
old so that a captured request cannot be replayed later:

    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret, fields["t"].encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) < 300

The answer
----------
- 2xx: a JSON object body is the outputs; an empty body is no outputs; any other body is a
  failure that is not retried.
- 5xx, 429, 408, connection errors and timeouts: retryable failures.
- Other 4xx and 3xx: failures that are not retried.
The status and the start of the body (secrets masked) are in the error; the body's end is in
`output_tail`. The whole call, connecting and reading included, is bounded by the timeout.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.automations.deadline import call_with_deadline, describe_error
from bot.automations.outcome import RunOutcome, describe_seconds, excerpt, tail
from bot.automations.secrets import Redactor

BODY_CAP = 1024 * 1024
USER_AGENT = "Conductor"
DEFAULT_SIGNATURE_HEADER = "X-Conductor-Signature"
RETRYABLE_STATUSES = frozenset({408, 429})
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def encode_body(value: Any) -> bytes:
    """The request body for `json`: sorted keys, compact, UTF-8; empty when there is none."""
    if value is None:
        return b""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value: `t=<timestamp>,v1=<hex HMAC-SHA256(secret, b"<t>." + body)>`."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def build_request(call: Mapping[str, Any], *, idempotency_key: str, now: float | None = None) -> urllib.request.Request:
    """The request for a resolved `http:` mapping; `ValueError` for what cannot be sent."""
    method = str(call.get("method") or "POST").upper()
    if method not in METHODS:
        raise ValueError(f"method `{method}` is not one of {', '.join(METHODS)}")
    url = str(call.get("url") or "")
    if urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).netloc:
        raise ValueError(f"`{url}` is not an http:// or https:// URL")
    body = encode_body(call.get("json"))
    headers: dict[str, str] = {"User-Agent": USER_AGENT}
    for name, value in (call.get("headers") or {}).items():
        headers[str(name)] = str(value)
    data = body if body or method not in ("GET", "DELETE") else None
    if data is not None:
        headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = idempotency_key
    sign = call.get("sign")
    if sign:
        secret = str(sign.get("secret") or "")
        if not secret:
            raise ValueError("`sign.secret` is empty")
        timestamp = int(time.time() if now is None else now)
        headers[str(sign.get("header") or DEFAULT_SIGNATURE_HEADER)] = signature(secret, body, timestamp)
    for name, value in headers.items():
        if any(c in name + value for c in "\r\n\0"):
            raise ValueError(f"header `{name}` contains a line break")
    request = urllib.request.Request(url, data=data, method=method)
    for name, value in headers.items():  # urllib normalises the case of names; HTTP ignores it
        request.add_header(name, value)
    return request


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx answer is raised as an HTTPError instead


_OPENER = urllib.request.build_opener(_NoRedirect)


def run_http(
    call: Mapping[str, Any],
    *,
    idempotency_key: str,
    timeout: float,
    redactor: Redactor | None = None,
) -> RunOutcome:
    """Make the request described by `call` (secrets already resolved); never raises for its faults."""
    redact = redactor or Redactor()
    try:
        request = build_request(call, idempotency_key=idempotency_key)
    except (ValueError, TypeError, AttributeError) as exc:
        return RunOutcome.failure(redact(f"cannot send the request: {exc}"), retryable=False)
    what = f"{request.get_method()} {_plain_url(request.full_url)}"

    finished = call_with_deadline(lambda: _exchange(request, timeout), timeout, name="http")
    if finished is None:
        return RunOutcome.failure(redact(f"timed out after {describe_seconds(timeout)}: {what}"), retryable=True)
    if finished.error is not None:
        exc = finished.error
        if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
            return RunOutcome.failure(redact(f"timed out after {describe_seconds(timeout)}: {what}"), retryable=True)
        if isinstance(exc, (urllib.error.URLError, OSError)):
            reason = getattr(exc, "reason", exc)
            return RunOutcome.failure(redact(f"cannot reach {what}: {reason}"), retryable=True)
        return RunOutcome.failure(redact(f"{what} failed: {describe_error(exc)}"), retryable=True)
    status, reason, raw = finished.value
    return _answer(what, status, reason, raw, redact)


def _exchange(request: urllib.request.Request, timeout: float) -> tuple[int, str, bytes]:
    """Send, and read at most `BODY_CAP + 1` bytes of the answer, whatever its status."""
    try:
        response = _OPENER.open(request, timeout=max(timeout, 0.001))
    except urllib.error.HTTPError as answer:  # a 3xx, 4xx or 5xx answer: still an answer
        with answer:
            return answer.code, str(answer.reason or ""), answer.read(BODY_CAP + 1) if answer.fp else b""
    with response:
        return response.status, str(response.reason or ""), response.read(BODY_CAP + 1)


def _answer(what: str, status: int, reason: str, raw: bytes, redact: Redactor) -> RunOutcome:
    too_big = len(raw) > BODY_CAP
    text = raw[:BODY_CAP].decode("utf-8", errors="replace")
    output_tail = redact(tail(text))
    answered = f"{what} answered {status}{' ' + reason if reason else ''}"
    if not 200 <= status < 300:
        retryable = status >= 500 or status in RETRYABLE_STATUSES
        detail = f": {excerpt(text)}" if text.strip() else ""
        if 300 <= status < 400:
            detail = " (redirects are not followed: use the final URL)" + detail
        return RunOutcome.failure(redact(answered + detail), retryable=retryable, output_tail=output_tail)
    if too_big:
        return RunOutcome.failure(
            redact(f"{answered} with a body larger than {BODY_CAP // (1024 * 1024)} MiB"),
            retryable=False, output_tail=output_tail,
        )
    if not text.strip():
        return RunOutcome.success({}, output_tail=output_tail)
    try:
        outputs = json.loads(text)
    except ValueError:
        outputs = None
    if not isinstance(outputs, dict):
        kind = "not JSON" if outputs is None and text.strip() != "null" else "JSON but not an object"
        return RunOutcome.failure(
            redact(f"{answered}, but the body is {kind}: {excerpt(text, 120)}"),
            retryable=False, output_tail=output_tail,
        )
    return RunOutcome.success(outputs, output_tail=output_tail)


def _plain_url(url: str) -> str:
    """The URL without its query string and user info, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"
