"""The clock's worker hands each automation its workflow's `egress.allow`: an `http:` step to
an internal address runs where the workflow allows it, and is refused where it does not."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.engine.state import RunState
from bot.runtime import build_runtime
from bot.scheduling.worker import AutomationWorker
from bot.settings import Settings
from bot.store.models import Run

WORKFLOW = """
id: fetch
{allow}
steps:
  - id: get
    http: {{url: "http://127.0.0.1:{port}/status"}}
    outputs: {{status: text}}
"""


class Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # http.server names its handlers so
        body = json.dumps({"status": "green"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # an http: step posts by default

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def internal_service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("allowed", [True, False])
def test_the_worker_passes_the_workflow_egress_on(migrated_db_url, tmp_path, internal_service, allowed, monkeypatch):
    monkeypatch.delenv("HTTP_ALLOW_PRIVATE", raising=False)
    allow = "egress: {allow: [127.0.0.1]}" if allowed else ""
    (tmp_path / "fetch.yaml").write_text(WORKFLOW.format(allow=allow, port=internal_service))
    runtime = build_runtime(Settings(database_url=migrated_db_url, workflows_dir=str(tmp_path)))
    try:
        started = runtime.usecases.start("fetch", None, {}, key="k-egress")
        worker = AutomationWorker(runtime.service, runtime.versions, str(tmp_path), max_workers=1)
        try:
            for dispatch in runtime.service.claim_dispatches(runtime.service.clock()):
                worker.run(dispatch)
        finally:
            worker.shutdown(wait=True)
        with runtime.sessions() as session:
            step = RunState.from_json(session.get_one(Run, started.run_id).state).steps["get"]
        if allowed:
            assert step.status.value == "completed" and step.outputs == {"status": "green"}
        else:
            assert step.status.value != "completed"
            assert "127.0.0.1" in (step.error or "") and "egress.allow" in (step.error or "")
    finally:
        runtime.close()
