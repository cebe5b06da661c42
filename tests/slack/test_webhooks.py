"""`POST /webhooks/<workflow>` on the real app over HTTP: requests signed in the Standard Webhooks
scheme (or the deprecated `X-Conductor-Signature`) start runs once; a replay is a duplicate
whatever `Idempotency-Key` it carries; everything else is refused with a short JSON answer and
starts nothing, and nobody can tell from the answers which workflows exist."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import text

from bot.automations.http_runner import signature
from tests.fakeslack import FakeSlack
from tests.slack.live import running_app, slack_settings

WORKFLOW = """
id: intake
channel: "#intake"
on:
  command: false
  webhook: {secret: "${{ secrets.INTAKE_HOOK_SECRET }}"}
inputs:
  company: string
  seats: {type: integer, min: 1}
steps:
  - {id: welcome, uses: conductor/post, with: {text: "{{ inputs.company }} asked for {{ inputs.seats }} seats"}}
"""
BILLING = """
id: billing
channel: "#billing"
on:
  command: false
  webhook: {secret: "${{ secrets.BILLING_HOOK_SECRET }}"}
inputs:
  invoice: string
steps:
  - {id: note, uses: conductor/post, with: {text: "invoice {{ inputs.invoice }}"}}
"""
OTHER = """
id: manual
channel: "#x"
steps:
  - {id: note, uses: conductor/post, with: {text: hi}}
"""
SECRET = "hook-secret-for-tests"  # a raw secret: its UTF-8 bytes are the key
BILLING_KEY = b"billing-key-of-thirty-two-bytes!"
BILLING_SECRET = "whsec_" + base64.b64encode(BILLING_KEY).decode()  # the spec's serialized form
GOOD = json.dumps({"company": "Globex", "seats": 40}).encode()
UNAUTHORIZED = (401, {"error": "missing, wrong or stale signature"})


@pytest.fixture
def hooks(migrated_db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_HOOK_SECRET", SECRET)
    monkeypatch.setenv("BILLING_HOOK_SECRET", BILLING_SECRET)
    with FakeSlack() as fake:
        workflows = {"intake.yaml": WORKFLOW, "billing.yaml": BILLING, "manual.yaml": OTHER}
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, workflows)
        with running_app(settings) as (url, runtime):
            yield url.removesuffix("/slack/events") + "/webhooks/", runtime


def standard_signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of "<id>.<timestamp>.<body>", computed here from the spec."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def standard(body: bytes, message_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", *,
             key: bytes = SECRET.encode(), at: float | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers of a request."""
    timestamp = int(at if at is not None else time.time())
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": standard_signature(key, message_id, timestamp, body)}


def deprecated(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    """The deprecated `X-Conductor-Signature` header of a request."""
    return {"X-Conductor-Signature": signature(secret, body, int(at if at is not None else time.time()))}


def post(base: str, workflow: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(base + workflow, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def runs(runtime) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(text("select count(*) from runs")).scalar_one()


def test_a_standard_webhook_starts_one_run(hooks):
    base, runtime = hooks
    signed = standard(GOOD)
    status, answer = post(base, "intake", GOOD, {**signed, "Idempotency-Key": "order-1"})
    assert status == 202 and answer["run_id"]
    with runtime.engine.connect() as conn:
        inputs = conn.execute(text("select inputs from runs")).scalar_one()
    assert (json.loads(inputs) if isinstance(inputs, str) else inputs) == {"company": "Globex", "seats": 40}


def test_a_replayed_standard_webhook_is_a_duplicate_whatever_its_idempotency_key(hooks):
    base, runtime = hooks
    signed = standard(GOOD)
    assert post(base, "intake", GOOD, {**signed, "Idempotency-Key": "order-1"})[0] == 202
    # A captured request sent again with a fresh key of the attacker's choosing: the signed id decides.
    for key in ("order-2", "order-3"):
        assert post(base, "intake", GOOD, {**signed, "Idempotency-Key": key}) == (200, {"status": "duplicate"})
    assert post(base, "intake", GOOD, signed) == (200, {"status": "duplicate"})
    # The sender's own retry: a new timestamp and signature, the same id.
    assert post(base, "intake", GOOD, standard(GOOD, at=time.time() + 5)) == (200, {"status": "duplicate"})
    assert runs(runtime) == 1
    # Another id is another event.
    assert post(base, "intake", GOOD, standard(GOOD, "msg_another"))[0] == 202
    assert runs(runtime) == 2


def test_a_whsec_secret_is_decoded_and_any_of_several_signatures_may_match(hooks):
    base, runtime = hooks
    body = b'{"invoice": "INV-7"}'
    # Signed with the serialized text instead of the decoded key: not this secret.
    assert post(base, "billing", body, standard(body, key=BILLING_SECRET.encode()))[0] == 401
    signed = standard(body, "msg_rotating")
    stale_key = standard_signature(b"the key before rotation", "msg_rotating", int(signed["webhook-timestamp"]), body)
    right = standard_signature(BILLING_KEY, "msg_rotating", int(signed["webhook-timestamp"]), body)
    # While a secret is rotated the sender signs with both: one match is enough.
    status, answer = post(base, "billing", body, {**signed, "webhook-signature": f"{stale_key} {right}"})
    assert status == 202 and answer["run_id"]
    assert runs(runtime) == 1


@pytest.mark.parametrize("case", [
    "wrong secret", "stale", "from the future", "tampered body", "another id", "id with a dot",
    "no id", "timestamp not an integer", "signature not base64", "unsigned",
    "deprecated wrong secret", "deprecated stale", "deprecated tampered", "deprecated with extra fields",
])
def test_a_bad_signature_is_refused_401_and_starts_nothing(hooks, case):
    base, runtime = hooks
    body, headers = GOOD, standard(GOOD)
    if case == "wrong secret":
        headers = standard(GOOD, key=b"guess")
    elif case == "stale":
        headers = standard(GOOD, at=time.time() - 600)
    elif case == "from the future":
        headers = standard(GOOD, at=time.time() + 600)
    elif case == "tampered body":
        body = GOOD.replace(b"40", b"4000")
    elif case == "another id":
        headers = {**headers, "webhook-id": "msg_other"}
    elif case == "id with a dot":  # "<id>.<timestamp>.<body>" would be ambiguous
        headers = standard(GOOD, "msg.1")
    elif case == "no id":
        del headers["webhook-id"]
    elif case == "timestamp not an integer":
        signed = standard(GOOD)
        headers = {**signed, "webhook-timestamp": signed["webhook-timestamp"] + ".0"}
    elif case == "signature not base64":
        headers = {**headers, "webhook-signature": "v1,***"}
    elif case == "unsigned":
        headers = {}
    elif case == "deprecated wrong secret":
        headers = deprecated(GOOD, secret="guess")
    elif case == "deprecated stale":
        headers = deprecated(GOOD, at=time.time() - 600)
    elif case == "deprecated tampered":
        body, headers = GOOD.replace(b"40", b"4000"), deprecated(GOOD)
    elif case == "deprecated with extra fields":  # one signature, one request: no variants
        headers = {"X-Conductor-Signature": deprecated(GOOD)["X-Conductor-Signature"] + ",v0=x"}
    assert post(base, "intake", body, headers) == UNAUTHORIZED
    assert runs(runtime) == 0


@pytest.mark.parametrize(("case", "expected"), [("not json", 400), ("a list", 400), ("refused input", 422)])
def test_a_signed_body_that_is_not_a_run_s_inputs_is_refused(hooks, case, expected):
    base, runtime = hooks
    body = {"not json": b"company=Globex", "a list": b"[1, 2]",
            "refused input": json.dumps({"company": "Globex", "seats": 0}).encode()}[case]
    status, answer = post(base, "intake", body, standard(body))
    assert status == expected and "error" in answer
    if case == "refused input":
        assert "seats" in answer["errors"]
    assert runs(runtime) == 0


@pytest.mark.parametrize("signing", ["unsigned", "standard, guessed secret", "deprecated, guessed secret"])
def test_unknown_and_real_workflows_answer_alike(hooks, signing):
    """Nothing tells a prober which workflows exist: a real one, an unknown one and one that
    takes no webhooks give the same answer to the same request without a valid signature."""
    base, runtime = hooks
    headers = {"unsigned": {}, "standard, guessed secret": standard(GOOD, key=b"guess"),
               "deprecated, guessed secret": deprecated(GOOD, secret="guess")}[signing]
    answers = [post(base, workflow, GOOD, headers) for workflow in ("intake", "nothing-here", "manual")]
    assert answers == [UNAUTHORIZED] * 3
    assert runs(runtime) == 0


@pytest.mark.parametrize("workflow", ["nothing-here", "manual", "billing"])
def test_a_request_signed_for_one_workflow_is_refused_by_any_other(hooks, workflow):
    """An unknown workflow and one that takes no webhooks have no secret a signature could
    check against: intake's valid signatures get them the answer of a wrong signature."""
    base, runtime = hooks
    assert post(base, workflow, GOOD, standard(GOOD)) == UNAUTHORIZED
    assert post(base, workflow, GOOD, deprecated(GOOD)) == UNAUTHORIZED
    assert runs(runtime) == 0


def test_without_its_secret_set_the_server_answers_as_for_a_bad_signature(hooks, monkeypatch, caplog):
    base, runtime = hooks
    monkeypatch.delenv("INTAKE_HOOK_SECRET")
    with caplog.at_level(logging.WARNING, logger="conductor.webhooks"):
        answer = post(base, "intake", GOOD, standard(GOOD))
    assert answer == post(base, "nothing-here", GOOD, standard(GOOD))
    assert answer == UNAUTHORIZED
    # The operator learns why from the log, which names the secret but never shows a value.
    assert any("INTAKE_HOOK_SECRET is not set" in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text
    assert runs(runtime) == 0


def test_the_deprecated_signature_still_starts_a_run(hooks):
    base, runtime = hooks
    status, answer = post(base, "intake", GOOD, deprecated(GOOD))
    assert status == 202 and answer["run_id"]
    assert runs(runtime) == 1


def test_a_replayed_deprecated_request_is_a_duplicate_whatever_its_idempotency_key(hooks):
    """The old scheme signs no id, so its request is known by its signature (timestamp and
    body): a new `Idempotency-Key` on a captured request does not make it a new one."""
    base, runtime = hooks
    signed = deprecated(GOOD)
    assert post(base, "intake", GOOD, {**signed, "Idempotency-Key": "order-1"})[0] == 202
    for key in ("order-2", "order-3"):
        assert post(base, "intake", GOOD, {**signed, "Idempotency-Key": key}) == (200, {"status": "duplicate"})
    assert post(base, "intake", GOOD, signed) == (200, {"status": "duplicate"})
    assert runs(runtime) == 1


def test_each_start_logs_one_info_line_and_each_refusal_a_warning_without_secrets_or_bodies(hooks, caplog):
    base, _ = hooks
    body = json.dumps({"company": "Initech-private", "seats": 3}).encode()
    with caplog.at_level(logging.INFO, logger="conductor.webhooks"):
        status, answer = post(base, "intake", body, standard(body, "msg_logged"))
        post(base, "intake", body, standard(body, "msg_logged", key=b"guess"))
    assert status == 202
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "conductor.webhooks"]
    started = [m for level, m in lines if level == logging.INFO and "started run" in m]
    assert len(started) == 1 and answer["run_id"] in started[0]
    assert any(level == logging.WARNING and "refused (401)" in m for level, m in lines)
    assert "Initech-private" not in caplog.text and SECRET not in caplog.text
