"""Fixtures for the automation runners: a workflows folder with test automations, a local HTTP
server that records what it receives, and steps and requests built the way the engine does."""

from __future__ import annotations

import json
import os
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.automations.egress import EgressPolicy
from bot.definitions.steps import AutomationStep
from bot.engine.context import render_value
from bot.engine.effects import RunAutomation
from bot.scheduling.worker import AutomationWorker
from bot.slack.blocks.outbox import render_outbox
from bot.slack.client import make_client
from bot.slack.messenger import Messenger

RUN_ID = "r7kq2m9x"
# The local test server listens on loopback, which `http:` steps may not reach by default:
# the tests that call it allow it explicitly, as a workflow's `egress.allow` would.
LOCAL_EGRESS = EgressPolicy(allow=("127.0.0.1",), allow_private=False)

TEST_AUTOMATIONS = '''
"""Automations the runner tests call."""
import threading
import time

from bot.automations.context import AutomationError

FINISHED = threading.Event()
not_a_function = 42


def echo(ctx):
    ctx.logger.warning("working on %s", ctx.step_id)
    return {"params": ctx.params, "run_id": ctx.run_id, "step_id": ctx.step_id, "attempt": ctx.attempt,
            "idempotency_key": ctx.idempotency_key, "inputs": ctx.inputs, "steps": ctx.steps,
            "logger": ctx.logger.name}


def mutate(ctx):
    ctx.inputs["added"] = True
    ctx.steps.setdefault("brief", {})["added"] = True
    return {}


def returns_list(ctx):
    return ["not", "a", "mapping"]


def returns_none(ctx):
    return None


def fatal(ctx):
    raise AutomationError("the data is wrong for " + ctx.params.get("token", ""), retryable=False)


def loud(ctx):
    raise AutomationError("a whole page of trouble: " + "x" * 10000 + " " + ctx.params.get("token", ""))


def busy(ctx):
    raise AutomationError("the service is busy")


def crash(ctx):
    ctx.logger.warning("about to use %s", ctx.params["token"])
    raise KeyError("no record for token " + ctx.params["token"])


def sleepy(ctx):
    time.sleep(float(ctx.params.get("seconds", 5)))
    FINISHED.set()
    return {"late": True}
'''

BROKEN_MODULE = 'raise RuntimeError("cannot configure the client")\n'
NEEDS_MISSING_MODULE = "import conductor_no_such_dependency  # noqa: F401\n"


@dataclass
class Workflows:
    folder: Path
    package: str  # a package name unique to this test session, so imports never collide

    def uses(self, target: str) -> str:
        module, _, function = target.partition(":")
        return f"{self.package}.{module}:{function}"


@pytest.fixture(scope="session")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> Workflows:
    folder = tmp_path_factory.mktemp("workflows")
    package = f"runner_test_{uuid.uuid4().hex[:10]}"
    (folder / package).mkdir()
    (folder / package / "__init__.py").write_text("")
    (folder / package / "funcs.py").write_text(textwrap.dedent(TEST_AUTOMATIONS))
    (folder / package / "broken.py").write_text(BROKEN_MODULE)
    (folder / package / "needs_missing.py").write_text(NEEDS_MISSING_MODULE)
    return Workflows(folder, package)


def automation(raw: dict[str, Any], *, timeout: float | None = None) -> AutomationStep:
    """A step from YAML-like data; `timeout` in seconds may be shorter than YAML allows."""
    step = AutomationStep.model_validate({"id": "work", **raw})
    if timeout is not None:
        step = step.model_copy(update={"timeout": timedelta(seconds=timeout)})
    return step


def request_for(
    step: AutomationStep, context: dict[str, Any] | None = None, *, attempt: int = 1, try_number: int = 1,
    run_id: str = RUN_ID,
) -> RunAutomation:
    """The effect the engine emits for a try of `step`, its values rendered with `context`."""
    params = render_value(
        {"with": step.with_, "run": step.run, "env": step.env,
         "http": step.http.model_dump(by_alias=True) if step.http else None},
        context or {},
    )
    return RunAutomation(step.id, attempt, try_number, f"{run_id}:{step.id}:{attempt}", params)


def run_automations(live: Any) -> int:
    """What the clock does for a `tests.hostile.conftest.Live` app: claim what the engine asks
    for and run it with the real runners, until nothing is left; how many ran."""
    worker = AutomationWorker(live.runtime.service, live.runtime.versions, str(live.folder), max_workers=1)
    ran = 0
    try:
        while claimed := live.runtime.service.claim_dispatches(live.runtime.service.clock()):
            for dispatch in claimed:
                worker.run(dispatch)
                ran += 1
    finally:
        worker.shutdown()
    return ran


def deliver_outbox(live: Any) -> None:
    """Send what the app wrote to its outbox to the fake Slack, as the messenger does."""
    messenger = Messenger(live.runtime.engine, make_client(live.runtime.settings), live.runtime.versions,
                          render=render_outbox, rate=1000, burst=1000)
    for _ in range(20):
        messenger.deliver_due()


def base_environ(**extra: str) -> dict[str, str]:
    """A process environment for `run_automation(environ=...)`."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TZ") if name in os.environ}
    env.update(extra)
    return env


# -- a local HTTP server -------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    base: str
    received: list[Received] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def last(self) -> Received:
        return self.received[-1]


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes | str = b"", content_type: str = "application/json",
                    extra: dict[str, str] | None = None) -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            if status != 204:
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if status != 204:
                self.wfile.write(data)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.received.append(Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            parts = urlsplit(self.path).path.strip("/").split("/")
            route = parts[0]
            if route == "ok":
                received = json.loads(body) if body else None
                self._answer(200, json.dumps({"id": "art_1", "received": received}))
            elif route == "empty":
                self._answer(200, b"")
            elif route == "no-content":
                self._answer(204)
            elif route == "list":
                self._answer(200, "[1, 2]")
            elif route == "text":
                self._answer(200, "hello there", "text/plain")
            elif route == "status":
                self._answer(int(parts[1]), json.dumps({"error": f"failed with {parts[1]}"}))
            elif route == "echo-auth":  # a careless API that echoes credentials in its errors
                self._answer(int(parts[1]), "denied for " + self.headers.get("Authorization", ""), "text/plain")
            elif route == "echo-json":  # an API that answers with the credentials it was sent
                received = json.loads(body) if body else {}
                self._answer(200, json.dumps({"authorization": self.headers.get("Authorization", ""),
                                              "token": received.get("token", ""), "host": self.headers.get("Host", "")}))
            elif route == "reflect":  # `/reflect/<status>`: the request body back, as text
                self._answer(int(parts[1]), body, "text/plain")
            elif route == "redirect":
                self._answer(302, b"", extra={"Location": server.url("/ok")})
            elif route == "redirect-to":  # `/redirect-to?http://...`: anywhere the query says
                self._answer(302, b"", extra={"Location": urlsplit(self.path).query})
            elif route == "slow":
                time.sleep(float(parts[1]) if len(parts) > 1 else 3)
                self._answer(200, "{}")
            elif route == "huge":
                self._answer(200, b"x" * (1024 * 1024 + 10), "text/plain")
            else:
                self._answer(404, "{}")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler


@pytest.fixture
def http_server() -> Iterator[Server]:
    holder = Server(base="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(holder))
    httpd.daemon_threads = True
    httpd.handle_error = lambda request, address: None  # clients that hang up early are expected
    holder.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield holder
    finally:
        httpd.shutdown()
        httpd.server_close()
