"""`POST /webhooks/<workflow>` on the real app over HTTP: signed requests start runs once;
everything else is refused with a short JSON answer and starts nothing."""

from __future__ import annotations

import json
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
OTHER = """
id: manual
channel: "#x"
steps:
  - {id: note, uses: conductor/post, with: {text: hi}}
"""
SECRET = "hook-secret-for-tests"


@pytest.fixture
def hooks(migrated_db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_HOOK_SECRET", SECRET)
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, {"intake.yaml": WORKFLOW, "manual.yaml": OTHER})
        with running_app(settings) as (url, runtime):
            yield url.removesuffix("/slack/events") + "/webhooks/", runtime


def call(base: str, workflow: str, body: bytes, *, secret: str = SECRET, at: float | None = None,
         headers: dict[str, str] | None = None, signed: bool = True) -> tuple[int, dict]:
    sent = {"Content-Type": "application/json", **(headers or {})}
    if signed:
        sent["X-Conductor-Signature"] = signature(secret, body, int(at if at is not None else time.time()))
    request = urllib.request.Request(base + workflow, data=body, method="POST", headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def runs(runtime) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(text("select count(*) from runs")).scalar_one()


def test_a_signed_request_starts_one_run(hooks):
    base, runtime = hooks
    body = json.dumps({"company": "Globex", "seats": 40}).encode()
    status, answer = call(base, "intake", body, headers={"Idempotency-Key": "order-1"})
    assert status == 202 and answer["run_id"]
    # The sender retries (a new signature, the same key): one run.
    assert call(base, "intake", body, headers={"Idempotency-Key": "order-1"}) == (200, {"status": "duplicate"})
    with runtime.engine.connect() as conn:
        inputs = conn.execute(text("select inputs from runs")).scalar_one()
    assert (json.loads(inputs) if isinstance(inputs, str) else inputs) == {"company": "Globex", "seats": 40}


@pytest.mark.parametrize(("case", "expected"), [
    ("wrong secret", 401), ("stale", 401), ("unsigned", 401), ("tampered", 401),
    ("not json", 400), ("a list", 400), ("refused input", 422), ("unknown workflow", 404), ("no webhook", 404),
])
def test_everything_else_is_refused_and_starts_nothing(hooks, case, expected):
    base, runtime = hooks
    good = json.dumps({"company": "Globex", "seats": 40}).encode()
    workflow, body, kw = "intake", good, {}
    if case == "wrong secret":
        kw = {"secret": "guess"}
    elif case == "stale":
        kw = {"at": time.time() - 600}
    elif case == "unsigned":
        kw = {"signed": False}
    elif case == "not json":
        body = b"company=Globex"
    elif case == "a list":
        body = b"[1, 2]"
    elif case == "refused input":
        body = json.dumps({"company": "Globex", "seats": 0}).encode()
    elif case == "unknown workflow":
        workflow = "nothing-here"
    elif case == "no webhook":
        workflow = "manual"
    if case == "tampered":
        sent = {"Content-Type": "application/json", "X-Conductor-Signature": signature(SECRET, good, int(time.time()))}
        request = urllib.request.Request(base + "intake", data=good.replace(b"40", b"4000"), method="POST", headers=sent)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        status = refused.value.code
    else:
        status, answer = call(base, workflow, body, **kw)
        assert "error" in answer
    assert status == expected
    assert runs(runtime) == 0


def test_without_its_secret_set_the_server_refuses_to_guess(hooks, monkeypatch):
    base, runtime = hooks
    monkeypatch.delenv("INTAKE_HOOK_SECRET")
    status, answer = call(base, "intake", b'{"company": "Globex", "seats": 4}')
    assert status == 503 and "INTAKE_HOOK_SECRET" in answer["error"] and SECRET not in json.dumps(answer)
    assert runs(runtime) == 0
