"""`POST /webhooks/<workflow>`: other systems start runs of a workflow whose `on.webhook` names
a secret.

The request is signed the way Conductor signs its own `http:` calls: the header
`X-Conductor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, b"<t>." + body)>`, with
the timestamp within five minutes. The body is a JSON object: the run's inputs, checked like any
start. An `Idempotency-Key` header makes a repeated request start one run (without it, the same
signed request sent twice starts one run). Answers are JSON:

- 202 `{"run_id": ...}` started; 200 `{"status": "duplicate"}` already handled;
- 401 signature missing, wrong or stale; 404 no such workflow, or it takes no webhooks;
- 400 the body is not a JSON object; 422 `{"errors": {field: why}}` inputs refused;
- 503 the secret is not set on this server (nothing can be verified).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from bot.automations.http_runner import signature
from bot.automations.secrets import SecretMissing, SecretResolver
from bot.definitions.values import SECRET_REF
from bot.usecases import UseCases
from bot.usecases.results import Accepted, Duplicate, Ignored, Refused

log = logging.getLogger("conductor.webhooks")
PREFIX = "/webhooks/"
MAX_AGE_SECONDS = 300
MAX_BODY_BYTES = 1024 * 1024

Answer = tuple[int, dict[str, Any]]
STATUS_LINES = {200: "200 OK", 202: "202 Accepted", 400: "400 Bad Request", 401: "401 Unauthorized",
                404: "404 Not Found", 413: "413 Payload Too Large", 422: "422 Unprocessable Entity",
                503: "503 Service Unavailable"}


def verify(secret: str, body: bytes, header: str, now: float) -> bool:
    """Whether `header` signs `body` with `secret` at a time within five minutes of `now`."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, body, timestamp), f"t={timestamp},v1={fields.get('v1', '')}")


def start_from_webhook(doors: UseCases, workflow_id: str, body: bytes, headers: dict[str, str], *,
                       secrets: SecretResolver | None = None, now: float | None = None) -> Answer:
    trigger = doors.webhook_trigger(workflow_id)
    if trigger is None:
        return 404, {"error": "no such workflow, or it is not started by webhooks"}
    name = SECRET_REF.fullmatch(trigger.secret.strip()).group(1)  # type: ignore[union-attr]
    try:
        secret = (secrets or SecretResolver()).lookup(name)
    except SecretMissing:
        log.warning("webhook of %s refused: its secret %s is not set", workflow_id, name)
        return 503, {"error": f"the webhook secret `{name}` is not set on this server"}
    header = headers.get("x-conductor-signature", "")
    if not verify(secret, body, header, time.time() if now is None else now):
        return 401, {"error": "missing, wrong or stale X-Conductor-Signature"}
    try:
        inputs = json.loads(body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        return 400, {"error": "the body is not JSON"}
    if not isinstance(inputs, dict) or "\x00" in body.decode("utf-8"):
        return 400, {"error": "the body must be a JSON object of the run's inputs (no NUL characters)"}
    given = headers.get("idempotency-key") or header
    match doors.start(workflow_id, None, inputs, key=f"webhook:{workflow_id}:{given}"):
        case Accepted(run_id=run_id):
            return 202, {"run_id": run_id}
        case Duplicate() | Ignored():
            return 200, {"status": "duplicate"}
        case Refused(text=text, field_errors=errors):
            return 422, {"error": text, "errors": errors}
    raise AssertionError("unreachable: a start is decided one of four ways")


def webhook_app(doors: UseCases) -> Callable[..., Iterable[bytes]]:
    """The WSGI handler of `POST /webhooks/<workflow>`."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY_BYTES:
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
