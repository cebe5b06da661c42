"""`http:` steps reach public addresses only, unless the workflow (`egress.allow`) or the
operator (`HTTP_ALLOW_PRIVATE`) allows more: checked after the name is resolved, with the
connection made to the checked address, and never past a redirect."""

from __future__ import annotations

import ipaddress
import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.automations.egress import EgressPolicy, EgressRefused, classify, system_resolver
from bot.automations.runner import run_automation
from bot.settings import get_settings
from tests.automations.conftest import (
    Server,
    automation,
    deliver_outbox,
    request_for,
    run_automations,
)
from tests.hostile.conftest import serve

METADATA_URL = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"


class Names:
    """A resolver for tests: names stand for whatever addresses the test says; every lookup
    is recorded, so a test can tell what was looked up and how often."""

    def __init__(self, **names: list[str]):
        self.names = {name.replace("_", "."): addresses for name, addresses in names.items()}
        self.looked_up: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.looked_up.append(host)
        if host in self.names:
            return self.names[host]
        return system_resolver(host, port)  # literal addresses


def fetch(url: str, egress: EgressPolicy | None = None, **http):
    step = automation({"http": {"method": "GET", "url": url, **http}}, timeout=5)
    return run_automation(step, request_for(step), workflows_dir=".", environ={},
                          egress=egress or EgressPolicy(allow_private=False))


# -- what is refused ---------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "kind"), [
    ("169.254.169.254", "the cloud metadata address"),
    ("fd00:ec2::254", "the cloud metadata address"),
    ("::ffff:169.254.169.254", "the cloud metadata address (169.254.169.254)"),
    ("::ffff:a9fe:a9fe", "the cloud metadata address (169.254.169.254)"),  # the same, in hex
    ("2002:a9fe:a9fe::1", "the cloud metadata address (169.254.169.254)"),  # 6to4
    ("64:ff9b::a9fe:a9fe", "the cloud metadata address (169.254.169.254)"),  # NAT64
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("::1", "a loopback address"),
    ("::ffff:127.0.0.1", "a loopback address (127.0.0.1)"),
    ("10.0.0.5", "a private address"),
    ("172.16.3.4", "a private address"),
    ("192.168.1.1", "a private address"),
    ("::ffff:10.0.0.5", "a private address (10.0.0.5)"),
    ("fd12:3456::1", "a private address"),
    ("169.254.1.1", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("224.0.0.251", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("0.0.0.0", "the unspecified address"),
    ("::", "the unspecified address"),
    ("240.0.0.1", "a reserved address"),
    ("100.64.0.1", "a special-purpose address, not a public one"),
    ("192.0.2.10", "a special-purpose address, not a public one"),
])
def test_addresses_that_are_not_public_are_named_for_what_they_are(address, kind):
    assert classify(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert classify(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("url", [
    METADATA_URL,
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://2852039166/latest/meta-data/",  # 169.254.169.254 as one decimal number
])
def test_the_metadata_address_is_refused_literally_and_in_its_other_forms(url):
    outcome = fetch(url)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert outcome.error.startswith("refused: ")
    assert "is the cloud metadata address" in outcome.error
    assert "HTTP_ALLOW_PRIVATE does not cover it" in outcome.error


def test_the_metadata_address_is_refused_behind_a_name():
    names = Names(metadata_internal=["169.254.169.254"])
    outcome = fetch("http://metadata.internal/computeMetadata/v1/", EgressPolicy(resolve=names, allow_private=False))
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert outcome.error == ("refused: 169.254.169.254 (metadata.internal) is the cloud metadata address; "
                             "allow it by naming it in egress.allow (HTTP_ALLOW_PRIVATE does not cover it)")


def test_localhost_is_refused_by_default():
    outcome = fetch("http://localhost:5432/")
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert outcome.error.startswith("refused: ") and "(localhost) is a loopback address" in outcome.error
    assert outcome.error.endswith("allow it with egress.allow or HTTP_ALLOW_PRIVATE")


def test_a_private_address_is_refused_with_a_message_a_person_can_act_on():
    names = Names(cms_corp=["10.0.0.5"])
    outcome = fetch("https://cms.corp/api", EgressPolicy(resolve=names, allow_private=False))
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert outcome.error == ("refused: 10.0.0.5 (cms.corp) is a private address; "
                             "allow it with egress.allow or HTTP_ALLOW_PRIVATE")


def test_a_name_that_points_both_outside_and_inside_is_refused_whole():
    names = Names(mixed_example=["93.184.216.34", "127.0.0.1"])
    with pytest.raises(EgressRefused, match="127.0.0.1 .mixed.example. is a loopback address"):
        EgressPolicy(resolve=names, allow_private=False).addresses("mixed.example", 443)


# -- what allows more ------------------------------------------------------------------------------


def test_egress_allow_lets_a_private_address_through(http_server: Server):
    refused = fetch(http_server.url("/ok"))
    assert refused.error.startswith("refused: 127.0.0.1 is a loopback address")
    assert http_server.received == []
    for allow in (("127.0.0.1",), ("127.0.0.0/8",), ("::ffff:127.0.0.0/104", "127.0.0.1/32")):
        outcome = fetch(http_server.url("/ok"), EgressPolicy(allow=allow, allow_private=False))
        assert outcome.ok, (allow, outcome.error)
    assert len(http_server.received) == 3


def test_egress_allow_by_host_name(http_server: Server):
    names = Names(cms_corp=["127.0.0.1"])
    port = http_server.base.rsplit(":", 1)[1]
    outcome = fetch(f"http://CMS.corp:{port}/echo-json", EgressPolicy(allow=("cms.corp",), resolve=names,
                                                                      allow_private=False))
    assert outcome.ok, outcome.error
    assert outcome.outputs["host"] == f"cms.corp:{port}"  # the url's host, though 127.0.0.1 was called


def test_http_allow_private_lets_private_addresses_through_but_not_the_metadata_one(http_server: Server):
    assert fetch(http_server.url("/ok"), EgressPolicy(allow_private=True)).ok
    names = Names(metadata_internal=["169.254.169.254"])
    for url in (METADATA_URL, "http://metadata.internal/"):
        outcome = fetch(url, EgressPolicy(allow_private=True, resolve=names))
        assert (outcome.ok, outcome.retryable) == (False, False) and "cloud metadata" in outcome.error


def test_the_metadata_address_needs_an_entry_of_its_own():
    wide = EgressPolicy(allow=("169.254.0.0/16", "0.0.0.0/0"), allow_private=True)
    with pytest.raises(EgressRefused, match="cloud metadata"):
        wide.addresses("169.254.169.254", 80)
    assert EgressPolicy(allow=("169.254.169.254",)).addresses("169.254.169.254", 80) == ["169.254.169.254"]
    assert EgressPolicy(allow=("169.254.169.254/32",)).addresses("::ffff:169.254.169.254", 80)


@pytest.fixture
def allow_private_setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HTTP_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    try:
        yield
    finally:
        monkeypatch.delenv("HTTP_ALLOW_PRIVATE")
        get_settings.cache_clear()


def test_the_setting_is_read_from_the_environment(http_server: Server, allow_private_setting):
    assert get_settings().http_allow_private is True
    step = automation({"http": {"url": http_server.url("/ok")}})
    outcome = run_automation(step, request_for(step), workflows_dir=".", environ={})  # no policy given
    assert outcome.ok, outcome.error


def test_without_the_setting_the_process_refuses(http_server: Server):
    get_settings.cache_clear()
    assert get_settings().http_allow_private is False
    step = automation({"http": {"url": http_server.url("/ok")}})
    outcome = run_automation(step, request_for(step), workflows_dir=".", environ={})
    assert (outcome.ok, outcome.retryable) == (False, False) and outcome.error.startswith("refused: 127.0.0.1")


# -- one lookup, one checked address, no redirects -------------------------------------------------


def test_the_name_is_resolved_once_and_the_checked_address_is_the_one_called(http_server: Server):
    class Rebinding(Names):
        """Answers an allowed address first, then the metadata address (DNS rebinding)."""

        def __call__(self, host: str, port: int) -> list[str]:
            self.looked_up.append(host)
            return ["127.0.0.1"] if len(self.looked_up) == 1 else ["169.254.169.254"]

    names = Rebinding()
    port = http_server.base.rsplit(":", 1)[1]
    outcome = fetch(f"http://rebind.example:{port}/echo-json",
                    EgressPolicy(allow=("127.0.0.1",), resolve=names, allow_private=False))
    assert outcome.ok, outcome.error
    assert names.looked_up == ["rebind.example"]
    assert outcome.outputs["host"] == f"rebind.example:{port}"


def test_a_redirect_to_the_metadata_address_is_an_error_not_a_fetch(http_server: Server):
    names = Names()
    outcome = fetch(http_server.url(f"/redirect-to?{METADATA_URL}"),
                    EgressPolicy(allow=("127.0.0.1",), resolve=names, allow_private=False),
                    headers={"Authorization": "Bearer not-for-anyone-else"})
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "answered 302" in outcome.error and "redirects are not followed" in outcome.error
    assert names.looked_up == ["127.0.0.1"]  # 169.254.169.254 was never even looked at
    assert [r.path for r in http_server.received] == [f"/redirect-to?{METADATA_URL}"]


def test_a_name_that_does_not_resolve_may_be_retried():
    outcome = fetch("http://no-such-host.invalid/", EgressPolicy(allow_private=False))
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert "the name no-such-host.invalid does not resolve" in outcome.error


# -- https: the checked address is called, the url's host is in SNI and the certificate check ------


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list[str]]]:
    """An https server on 127.0.0.1 with a certificate for `cms.test` (trusted for the test);
    yields its port and the server names clients asked for (SNI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=cms.test",
                    "-addext", "subjectAltName=DNS:cms.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client's default context trusts it
    asked: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: asked.append(name or "")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"host": self.headers.get("Host", "")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.handle_error = lambda request, address: None
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], asked
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_https_sends_the_host_in_sni_and_checks_its_certificate(tls_server):
    port, asked = tls_server
    names = Names(cms_test=["127.0.0.1"], other_test=["127.0.0.1"])
    policy = EgressPolicy(allow=("127.0.0.1",), resolve=names, allow_private=False)
    outcome = fetch(f"https://cms.test:{port}/", policy)
    assert outcome.ok, outcome.error
    assert outcome.outputs == {"host": f"cms.test:{port}"} and asked == ["cms.test"]
    wrong = fetch(f"https://other.test:{port}/", policy)  # the certificate is not for this name
    assert not wrong.ok and "certificate" in wrong.error.lower()


# -- through the real app: a refusal is a failure like any other, and it escalates at once --------

STEALING_WORKFLOW = """\
id: stealing
name: Stealing
channel: "#work"
escalation_channel: "#ops"
roles:
  team: [U01ANN]
  leads: [U04LEAD]
permissions:
  start: [team]
  take_over: [leads]
steps:
  - id: steal
    http:
      method: GET
      url: "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    retry: {attempts: 3}
  - id: wrap_up
    ask: starter
    outputs: {done: boolean}
"""


def test_a_refused_request_escalates_without_retrying_and_people_read_why(migrated_db_url: str, tmp_path: Path):
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "stealing.yaml").write_text(STEALING_WORKFLOW)
    with serve(migrated_db_url, folder) as live:
        run_id = live.start("stealing")
        assert run_automations(live) == 1  # one try: another could not help
        steal = live.state(run_id).steps["steal"]
        assert (steal.status.value, steal.tries) == ("escalated", 1)
        assert steal.error == ("refused: 169.254.169.254 is the cloud metadata address; "
                               "allow it by naming it in egress.allow (HTTP_ALLOW_PRIVATE does not cover it)")
        deliver_outbox(live)
        to_ops = [call.params for call in live.fake.calls
                  if call.method == "chat.postMessage" and call.params.get("channel") == "#ops"]
        assert to_ops and "is the cloud metadata address" in json.dumps(to_ops)
