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
- Redirects are not followed: an answer 3xx is a failure, so credentials never go elsewhere
  (and a redirect cannot lead past the egress check to an address it would refuse).
- Where it may connect is `egress.EgressPolicy`'s to say: the host is resolved once, every
  address checked, and the connection made to a checked address, with the url's host in the
  `Host` header and, for https, in SNI and the certificate check. Proxies from the environment
  are not used: a proxy would resolve the name again, out of the check's sight.

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
- 5xx, 429, 408, connection errors, names that do not resolve and timeouts: retryable failures.
- Other 4xx and 3xx, and an address the egress policy refuses: failures that are not retried.
The status and the start of the body are in the error, the body's end in `output_tail`;
secrets are masked in the whole body before either is cut from it, so a cut never leaves
part of a secret showing. The whole call, resolving, connecting and reading included, is
bounded by the timeout.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.automations.deadline import call_with_deadline, describe_error
from bot.automations.egress import EgressPolicy, EgressRefused
from bot.automations.outcome import RunOutcome, describe_seconds, excerpt, tail
from bot.automations.secrets import Redactor

BODY_CAP = 1024 * 1024
USER_AGENT = "Conductor"
DEFAULT_SIGNATURE_HEADER = "X-Conductor-Signature"
RETRYABLE_STATUSES = frozenset({408, 429})
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_PORTS = {"http": 80, "https": 443}
SHOWN_CHARS = 200  # of a url or a reason phrase in an error: both come from outside


def encode_body(value: Any) -> bytes:
    """The request body for `json`: sorted keys, compact, UTF-8; empty when there is none."""
    if value is None:
        return b""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value: `t=<timestamp>,v1=<hex HMAC-SHA256(secret, b"<t>." + body)>`."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class Prepared:
    """A request ready to send: where, and exactly what."""

    method: str
    scheme: str
    host: str
    port: int
    target: str  # the path and query, as sent on the request line
    headers: dict[str, str]
    body: bytes | None

    @property
    def url(self) -> str:
        """The url without its query string and user info, for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == DEFAULT_PORTS[self.scheme] else f":{self.port}"
        return excerpt(f"{self.scheme}://{host}{port}{self.target.split('?', 1)[0]}", SHOWN_CHARS)


def build_request(call: Mapping[str, Any], *, idempotency_key: str, now: float | None = None) -> Prepared:
    """The request for a resolved `http:` mapping; `ValueError` for what cannot be sent."""
    method = str(call.get("method") or "POST").upper()
    if method not in METHODS:
        raise ValueError(f"method `{method}` is not one of {', '.join(METHODS)}")
    url = str(call.get("url") or "")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"`{url}` is not an http:// or https:// URL")
    port = parts.port or DEFAULT_PORTS[scheme]  # a port that is not a number raises ValueError
    body = encode_body(call.get("json"))
    # Header names are compared without case, as HTTP does: a name given twice is sent once.
    headers: dict[str, tuple[str, str]] = {"user-agent": ("User-Agent", USER_AGENT)}
    for name, value in (call.get("headers") or {}).items():
        headers[str(name).lower()] = (str(name), str(value))
    data = body if body or method not in ("GET", "DELETE") else None
    if data is not None:
        headers["content-type"] = ("Content-Type", "application/json")
    headers["idempotency-key"] = ("Idempotency-Key", idempotency_key)
    sign = call.get("sign")
    if sign:
        secret = str(sign.get("secret") or "")
        if not secret:
            raise ValueError("`sign.secret` is empty")
        timestamp = int(time.time() if now is None else now)
        header = str(sign.get("header") or DEFAULT_SIGNATURE_HEADER)
        headers[header.lower()] = (header, signature(secret, body, timestamp))
    headers["connection"] = ("Connection", "close")
    for name, value in headers.values():
        if any(c in name + value for c in "\r\n\0"):
            raise ValueError(f"header `{name}` contains a line break")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(ord(c) <= 0x20 or c == "\x7f" for c in target):  # what `http.client` refuses to send
        raise ValueError("the url's path or query contains a space or a control character: quote it")
    return Prepared(method, scheme, parts.hostname, port, target, dict(headers.values()), data)


def run_http(
    call: Mapping[str, Any],
    *,
    idempotency_key: str,
    timeout: float,
    redactor: Redactor | None = None,
    egress: EgressPolicy | None = None,
) -> RunOutcome:
    """Make the request described by `call` (secrets already resolved) if `egress` lets it
    reach the host's addresses; never raises for its faults."""
    redact = redactor or Redactor()
    policy = egress or EgressPolicy()
    try:
        request = build_request(call, idempotency_key=idempotency_key)
    except (ValueError, TypeError, AttributeError) as unsendable:
        return RunOutcome.failure(redact(f"cannot send the request: {unsendable}"), retryable=False)
    what = f"{request.method} {request.url}"

    finished = call_with_deadline(lambda: _exchange(request, timeout, policy), timeout, name="http")
    if finished is None:
        return RunOutcome.failure(redact(f"timed out after {describe_seconds(timeout)}: {what}"), retryable=True)
    if finished.error is not None:
        exc = finished.error
        if isinstance(exc, EgressRefused):
            return RunOutcome.failure(redact(str(exc)), retryable=False)
        if isinstance(exc, TimeoutError):
            return RunOutcome.failure(redact(f"timed out after {describe_seconds(timeout)}: {what}"), retryable=True)
        if isinstance(exc, socket.gaierror):
            return RunOutcome.failure(redact(f"cannot reach {what}: the name {request.host} does not resolve "
                                             f"({exc.strerror or exc})"), retryable=True)
        if isinstance(exc, (OSError, http.client.HTTPException)):
            return RunOutcome.failure(redact(f"cannot reach {what}: {describe_error(exc)}"), retryable=True)
        return RunOutcome.failure(redact(f"{what} failed: {describe_error(exc)}"), retryable=True)
    assert finished.value is not None  # a call that raised nothing returned its answer
    status, reason, raw = finished.value
    return _answer(what, status, excerpt(reason, SHOWN_CHARS), raw, redact)


class _PinnedConnection(http.client.HTTPConnection):
    """A connection to one checked address, for a request that names the host.

    `http.client` itself never follows redirects; this class only changes where the socket
    goes: `Host`, SNI and the certificate check keep the url's host.
    """

    def __init__(self, host: str, port: int, *, address: str, timeout: float, tls: ssl.SSLContext | None):
        super().__init__(host, port, timeout=timeout)
        self.address = address
        self.tls = tls
        self.default_port = 443 if tls is not None else 80  # `Host` carries a port only when it is not this

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One context for every https call: making one reads the certificate store from disk, and
    a context serves any number of connections (each still names its own host)."""
    return ssl.create_default_context()


def _exchange(request: Prepared, timeout: float, policy: EgressPolicy) -> tuple[int, str, bytes]:
    """Resolve and check the host, send, and read at most `BODY_CAP + 1` bytes of the answer."""
    addresses = policy.addresses(request.host, request.port)
    tls = _tls_context() if request.scheme == "https" else None
    last: OSError | None = None
    for address in addresses:  # every one of them was checked; the first that connects is used
        connection = _PinnedConnection(request.host, request.port, address=address,
                                       timeout=max(timeout, 0.001), tls=tls)
        try:
            try:
                connection.connect()
            except OSError as exc:
                if isinstance(exc, ssl.SSLError):
                    raise  # the host answered: a certificate problem is not a reason to try another address
                last = exc
                continue
            connection.request(request.method, request.target, body=request.body, headers=request.headers)
            response = connection.getresponse()
            with response:
                return response.status, str(response.reason or ""), response.read(BODY_CAP + 1)
        finally:
            connection.close()
    assert last is not None  # `addresses` is never empty
    raise last


def _answer(what: str, status: int, reason: str, raw: bytes, redact: Redactor) -> RunOutcome:
    too_big = len(raw) > BODY_CAP
    # Masked whole first, cut after: cutting first could leave the start of a secret showing.
    text = redact(raw[:BODY_CAP].decode("utf-8", errors="replace"))
    output_tail = tail(text)
    answered = redact(f"{what} answered {status}{' ' + reason if reason else ''}")
    if not 200 <= status < 300:
        retryable = status >= 500 or status in RETRYABLE_STATUSES
        detail = f": {excerpt(text)}" if text.strip() else ""
        if 300 <= status < 400:
            detail = " (redirects are not followed: use the final URL)" + detail
        return RunOutcome.failure(answered + detail, retryable=retryable, output_tail=output_tail)
    if too_big:
        return RunOutcome.failure(
            f"{answered} with a body larger than {BODY_CAP // (1024 * 1024)} MiB",
            retryable=False, output_tail=output_tail,
        )
    if not text.strip():
        return RunOutcome.success({}, output_tail=output_tail)
    try:
        outputs = json.loads(raw[:BODY_CAP].decode("utf-8", errors="replace"))
    except ValueError:
        outputs = None
    if not isinstance(outputs, dict):
        kind = "not JSON" if outputs is None and text.strip() != "null" else "JSON but not an object"
        return RunOutcome.failure(
            f"{answered}, but the body is {kind}: {excerpt(text, 120)}",
            retryable=False, output_tail=output_tail,
        )
    return RunOutcome.success(outputs, output_tail=output_tail)
