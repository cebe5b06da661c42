"""`POST /webhooks/<workflow>`: other systems start runs of a workflow whose `on.webhook` names
a secret.

Requests are signed in the Standard Webhooks scheme, with the secret's value as the key
(`whsec_<base64>` is decoded; any other value is used as its UTF-8 bytes):

- `webhook-id`: the message's id, which stays the same when the sender retries;
- `webhook-timestamp`: unix seconds, within five minutes of now;
- `webhook-signature`: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, several
  separated by spaces while a secret is rotated (one must match).

The `webhook-id` is the idempotency key: it is signed, so a request whose id was already handled
is a duplicate, whatever else it carries (a captured request replayed with a new
`Idempotency-Key` starts nothing).

Deprecated, accepted for one more release: `X-Conductor-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256(secret, b"<t>." + body)>`, the way Conductor signs its own `http:` calls. It signs
no id, so such a request is known by its signature (its timestamp and body): the same signed
request again is a duplicate, and the unsigned `Idempotency-Key` header is not looked at.

Until a signature checks, every workflow answers alike, so nobody can probe which exist: an
unknown workflow, one that takes no webhooks and one whose secret is not set on this server
have no secret a signature could check against, and get the 401 of a wrong signature (the log
says which it was). Answers are JSON:

- 202 `{"run_id": ...}` started; 200 `{"status": "duplicate"}` already handled;
- 401 signature missing, wrong or stale (or nothing to check it against);
- 404 the workflow went away between the check and the start;
- 400 the body is not a JSON object; 422 `{"errors": {field: why}}` inputs refused;
- 413 the body is larger than 1 MiB.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from bot.automations.http_runner import signature
from bot.automations.secrets import SecretMissing, SecretResolver
from bot.definitions.values import SECRET_REF
from bot.usecases import UseCases
from bot.usecases.results import Accepted, Duplicate, Ignored, Refused

log = logging.getLogger("conductor.webhooks")
PREFIX = "/webhooks/"
MAX_AGE_SECONDS = 300
MAX_BODY_BYTES = 1024 * 1024
SECRET_PREFIX = "whsec_"
# The spec asks that an id hold no `.`, which would make "<id>.<timestamp>.<body>" ambiguous;
# the length bound keeps a sender from filling the key table with megabyte ids.
MESSAGE_ID = re.compile(r"[\x21-\x2d\x2f-\x7e]{1,256}")
TIMESTAMP = re.compile(r"[0-9]{1,12}")
DEPRECATED = re.compile(r"t=([0-9]{1,12}),v1=([0-9a-f]{64})")
# What a request for a workflow with no usable secret is checked against: a key nobody knows,
# so it takes the same steps as any other request and fails like a wrong signature.
_NOBODY_KNOWS = os.urandom(32)

Answer = tuple[int, dict[str, Any]]
UNAUTHORIZED: Answer = (401, {"error": "missing, wrong or stale signature"})
STATUS_LINES = {200: "200 OK", 202: "202 Accepted", 400: "400 Bad Request", 401: "401 Unauthorized",
                404: "404 Not Found", 413: "413 Payload Too Large", 422: "422 Unprocessable Entity",
                503: "503 Service Unavailable"}


@dataclass(frozen=True)
class Verified:
    """A request whose signature checked: `key` names it for idempotency."""

    key: str
    scheme: str


def signing_key(secret: str) -> bytes | None:
    """The HMAC key of a secret: `whsec_<base64>` decoded (None when that is not base64 or
    empty), any other value as its UTF-8 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode("utf-8")
    encoded = secret[len(SECRET_PREFIX):]
    try:
        # Unpadded base64 is common in the wild; the spec's own libraries accept it.
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def verify_standard(secret: str, body: bytes, headers: Mapping[str, str], now: float) -> Verified | str:
    """The Standard Webhooks check: `Verified` keyed by the `webhook-id`, or why not (for the log)."""
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    key = signing_key(secret)
    if not MESSAGE_ID.fullmatch(message_id) or not TIMESTAMP.fullmatch(timestamp):
        return "missing or malformed webhook-id or webhook-timestamp"
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return "stale webhook-timestamp"
    try:
        Webhook(key or _NOBODY_KNOWS).verify(
            body, {"webhook-id": message_id, "webhook-timestamp": timestamp,
                   "webhook-signature": headers.get("webhook-signature", "")}, json_parse=False)
    except (WebhookVerificationError, ValueError):  # ValueError: a body or signature it cannot decode
        return "no matching webhook-signature"
    if key is None:
        return f"the secret starts with {SECRET_PREFIX} but is not base64"
    return Verified(f"id:{message_id}", "standard")


def verify_deprecated(secret: str, body: bytes, header: str, now: float) -> Verified | str:
    """The deprecated `X-Conductor-Signature` check (the secret's text is the key): `Verified`
    keyed by the signature itself, which covers the timestamp and the body, or why not."""
    found = DEPRECATED.fullmatch(header.strip())
    if found is None:
        return "missing or malformed X-Conductor-Signature"
    timestamp, digest = int(found.group(1)), found.group(2)
    if abs(now - timestamp) > MAX_AGE_SECONDS:
        return "stale X-Conductor-Signature"
    if not hmac.compare_digest(signature(secret, body, timestamp), f"t={timestamp},v1={digest}"):
        return "wrong X-Conductor-Signature"
    return Verified(f"sig:{timestamp}.{digest}", "deprecated")


def verify(secret: str, body: bytes, headers: Mapping[str, str], now: float) -> Verified | str:
    """A request in either scheme: Standard Webhooks when it carries any `webhook-*` header."""
    if any(name in headers for name in ("webhook-id", "webhook-timestamp", "webhook-signature")):
        return verify_standard(secret, body, headers, now)
    return verify_deprecated(secret, body, headers.get("x-conductor-signature", ""), now)


def _secret_of(doors: UseCases, workflow_id: str, secrets: SecretResolver | None) -> tuple[str | None, str]:
    """The secret a workflow's webhooks are signed with, or None and why there is none (for the log)."""
    trigger = doors.webhook_trigger(workflow_id)
    if trigger is None:
        return None, "no such workflow, or it takes no webhooks"
    name = SECRET_REF.fullmatch(trigger.secret.strip()).group(1)  # type: ignore[union-attr]
    try:
        return (secrets or SecretResolver()).lookup(name), ""
    except SecretMissing:
        return None, f"its secret {name} is not set on this server"


def start_from_webhook(doors: UseCases, workflow_id: str, body: bytes, headers: Mapping[str, str], *,
                       secrets: SecretResolver | None = None) -> Answer:
    """Check a webhook request and start its run once: the answer's status and JSON body.
    `headers` are keyed in lower case."""
    secret, missing = _secret_of(doors, workflow_id, secrets)
    checked = verify(secret or _NOBODY_KNOWS.hex(), body, headers, time.time())
    if secret is None or isinstance(checked, str):
        log.warning("webhook of %r refused (401): %s", workflow_id, missing or checked)
        return UNAUTHORIZED
    try:
        decoded = body.decode("utf-8")
        inputs = json.loads(decoded or "{}")
    except (UnicodeDecodeError, ValueError):
        log.warning("webhook of %s refused (400): the body is not JSON", workflow_id)
        return 400, {"error": "the body is not JSON"}
    if not isinstance(inputs, dict) or "\x00" in decoded:
        log.warning("webhook of %s refused (400): the body is not a JSON object without NULs", workflow_id)
        return 400, {"error": "the body must be a JSON object of the run's inputs (no NUL characters)"}
    match doors.start(workflow_id, None, inputs, key=f"webhook:{workflow_id}:{checked.key}"):
        case Accepted(run_id=run_id):
            log.info("webhook of %s started run %s (%s signature)", workflow_id, run_id, checked.scheme)
            return 202, {"run_id": run_id}
        case Duplicate() | Ignored():
            log.info("webhook of %s was already handled: nothing started (%s signature)", workflow_id,
                     checked.scheme)
            return 200, {"status": "duplicate"}
        case Refused(code="unknown_workflow", text=text):
            log.warning("webhook of %s refused (404): %s", workflow_id, text)
            return 404, {"error": "no such workflow, or it is not started by webhooks"}
        case Refused(text=text, field_errors=errors):
            log.warning("webhook of %s refused (422): %s (fields: %s)", workflow_id, text,
                        ", ".join(sorted(errors)) or "none")
            return 422, {"error": text, "errors": errors}
    raise AssertionError("unreachable: a start is decided one of four ways")


def webhook_app(doors: UseCases) -> Callable[..., Iterable[bytes]]:
    """The WSGI handler of `POST /webhooks/<workflow>`."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY_BYTES:
            log.warning("webhook refused (413): a body of %d bytes", length)
            status, answer = 413, {"error": "too large"}
        else:
            body = environ["wsgi.input"].read(length)
            headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
            workflow_id = environ.get("PATH_INFO", "")[len(PREFIX):].strip("/")
            try:
                status, answer = start_from_webhook(doors, workflow_id, body, headers)
            except Exception:
                log.exception("webhook of %s failed", workflow_id)
                status, answer = 503, {"error": "the run could not be started; try again"}
        payload = json.dumps(answer).encode()
        start_response(STATUS_LINES[status], [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    return application
