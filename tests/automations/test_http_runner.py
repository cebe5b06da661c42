"""`http:` through `run_automation`, against a real local server."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time

import pytest

from bot.automations.http_runner import signature
from bot.automations.runner import run_automation
from tests.automations.conftest import (
    LOCAL_EGRESS,
    RUN_ID,
    Server,
    automation,
    base_environ,
    request_for,
)

TOKEN = "cms-token-5e6f7a8b"
SIGNING_KEY = "whsec-0a1b2c3d4e5f"


def run(http: dict, *, timeout=None, context=None, environ=None, workflows_dir="."):
    step = automation({"http": http}, timeout=timeout)
    environ = environ if environ is not None else base_environ(CMS_TOKEN=TOKEN, CMS_SIGNING_KEY=SIGNING_KEY)
    return run_automation(step, request_for(step, context), workflows_dir=workflows_dir, environ=environ,
                          egress=LOCAL_EGRESS)


def verify(header: str, secret: str, body: bytes, *, now: float, tolerance: int = 300) -> bool:
    """What a receiver does, following the scheme in the http_runner module docstring."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(now - int(fields["t"])) < tolerance


def test_a_json_object_answer_becomes_the_outputs(http_server: Server):
    outcome = run(
        {"url": http_server.url("/ok"), "json": {"title": "{{ inputs.title }}", "b": [1, 2], "a": None}},
        context={"inputs": {"title": "Grüße"}},
    )
    assert outcome.ok, outcome.error
    assert outcome.outputs == {"id": "art_1", "received": {"a": None, "b": [1, 2], "title": "Grüße"}}
    got = http_server.last
    assert got.method == "POST" and got.path == "/ok"
    assert got.body == '{"a":null,"b":[1,2],"title":"Grüße"}'.encode()  # sorted keys, compact, UTF-8
    assert got.headers["content-type"] == "application/json"
    assert got.headers["idempotency-key"] == f"{RUN_ID}:work:1"
    assert got.headers["user-agent"] == "Conductor"


def test_secrets_are_resolved_in_url_headers_and_body(http_server: Server):
    outcome = run({
        "method": "PUT",
        "url": http_server.url("/ok?token=${{ secrets.CMS_TOKEN }}"),
        "headers": {"Authorization": "Bearer ${{ secrets.CMS_TOKEN }}", "X-Trace": "abc"},
        "json": {"key": "${{ secrets.CMS_TOKEN }}"},
    })
    assert outcome.ok, outcome.error
    got = http_server.last
    assert got.method == "PUT"
    assert got.path == f"/ok?token={TOKEN}"
    assert got.headers["authorization"] == f"Bearer {TOKEN}" and got.headers["x-trace"] == "abc"
    assert json.loads(got.body) == {"key": TOKEN}
    assert TOKEN not in outcome.output_tail  # the server echoed the body back


def test_the_idempotency_key_cannot_be_overridden_and_repeats_for_every_try(http_server: Server):
    step = automation({"http": {"url": http_server.url("/ok"), "headers": {"Idempotency-Key": "mine"}}})
    for try_number in (1, 2):
        request = request_for(step, try_number=try_number)
        assert run_automation(step, request, workflows_dir=".", environ={}, egress=LOCAL_EGRESS).ok
    assert [r.headers["idempotency-key"] for r in http_server.received] == [f"{RUN_ID}:work:1"] * 2


def test_the_signature_verifies_with_the_documented_scheme(http_server: Server):
    before = time.time()
    outcome = run({
        "url": http_server.url("/ok"), "json": {"slug": "hello-world", "n": 1},
        "sign": {"secret": "${{ secrets.CMS_SIGNING_KEY }}", "header": "X-Conductor-Signature"},
    })
    assert outcome.ok, outcome.error
    got = http_server.last
    header = got.headers["x-conductor-signature"]
    assert header.startswith("t=") and ",v1=" in header
    assert before - 1 <= int(header.split(",")[0][2:]) <= time.time() + 1
    assert verify(header, SIGNING_KEY, got.body, now=time.time())
    assert not verify(header, SIGNING_KEY, got.body + b" ", now=time.time())
    assert not verify(header, "another-key", got.body, now=time.time())
    assert not verify(header, SIGNING_KEY, got.body, now=time.time() + 3600)
    assert signature("k", b"{}", 1700000000) == (
        "t=1700000000,v1=" + hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    )


def test_a_get_without_json_sends_no_body(http_server: Server):
    outcome = run({"method": "GET", "url": http_server.url("/ok")})
    assert outcome.ok and outcome.outputs == {"id": "art_1", "received": None}
    assert http_server.last.body == b"" and "content-type" not in http_server.last.headers


@pytest.mark.parametrize("path", ["/empty", "/no-content"])
def test_an_empty_answer_means_no_outputs(http_server: Server, path):
    outcome = run({"url": http_server.url(path)})
    assert outcome.ok and outcome.outputs == {}


@pytest.mark.parametrize(("path", "kind"), [("/list", "JSON but not an object"), ("/text", "not JSON")])
def test_a_2xx_answer_that_is_not_a_json_object_is_not_retried(http_server: Server, path, kind):
    outcome = run({"url": http_server.url(path)})
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert f"answered 200 OK, but the body is {kind}" in outcome.error


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (502, True), (503, True), (429, True), (408, True),
     (400, False), (401, False), (404, False), (409, False), (422, False)],
)
def test_error_statuses_decide_whether_another_try_may_help(http_server: Server, status, retryable):
    outcome = run({"url": http_server.url(f"/status/{status}")})
    assert (outcome.ok, outcome.retryable) == (False, retryable)
    assert outcome.error.startswith(f"POST {http_server.url(f'/status/{status}')} answered {status}")
    assert f'"error": "failed with {status}"' in outcome.error
    assert outcome.output_tail == json.dumps({"error": f"failed with {status}"})


def test_credentials_echoed_by_a_server_are_redacted(http_server: Server):
    outcome = run({"url": http_server.url("/echo-auth/403"), "headers": {"Authorization": "Bearer ${{ secrets.CMS_TOKEN }}"}})
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert outcome.error.endswith("answered 403 Forbidden: denied for Bearer ***")
    assert outcome.output_tail == "denied for Bearer ***"


def test_redirects_are_not_followed(http_server: Server):
    outcome = run({"url": http_server.url("/redirect"), "headers": {"Authorization": "Bearer ${{ secrets.CMS_TOKEN }}"}})
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "answered 302" in outcome.error and "redirects are not followed" in outcome.error
    assert [r.path for r in http_server.received] == ["/redirect"]


def test_a_slow_server_times_out_on_time_and_may_be_retried(http_server: Server):
    started = time.monotonic()
    outcome = run({"url": http_server.url("/slow/2")}, timeout=0.3)
    assert time.monotonic() - started < 0.8
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.error.startswith("timed out after 0.3s")


def test_a_refused_connection_may_be_retried():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = run({"url": f"http://127.0.0.1:{port}/ok"})
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.error.startswith(f"cannot reach POST http://127.0.0.1:{port}/ok")


def test_a_huge_answer_is_not_read_whole(http_server: Server):
    outcome = run({"url": http_server.url("/huge")})
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "larger than 1 MiB" in outcome.error


@pytest.mark.parametrize(
    ("url", "message"),
    [("file:///etc/passwd", "is not an http:// or https:// URL"), ("ftp://example.com/x", "is not an http")],
)
def test_only_http_urls_are_called(url, message):
    outcome = run({"url": url})
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert message in outcome.error


def test_a_header_with_a_line_break_is_refused(http_server: Server):
    outcome = run({"url": http_server.url("/ok"), "headers": {"X-Name": "{{ inputs.name }}"}},
                  context={"inputs": {"name": "a\r\nX-Injected: yes"}})
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "line break" in outcome.error
    assert http_server.received == []


def test_a_missing_secret_fails_before_anything_is_sent(http_server: Server):
    outcome = run({"url": http_server.url("/ok"), "headers": {"Authorization": "Bearer ${{ secrets.CMS_TOKEN }}"}},
                  environ={})
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "`CMS_TOKEN`" in outcome.error
    assert http_server.received == []
