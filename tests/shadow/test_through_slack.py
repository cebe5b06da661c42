"""End to end through the real app over signed HTTP, the local Slack, the real clock's poll and
the messenger: a shadowed run and the same run without shadows make the very same Slack calls;
the `http` shadow never reaches its server; the command shadow ran with CONDUCTOR_SHADOW=1."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from bot.scheduling.clock import Clock
from bot.settings import Settings
from bot.slack.blocks import actions as a
from bot.slack.blocks import forms
from bot.slack.client import make_client
from bot.slack.messenger import Messenger
from tests.fakeslack import FakeSlack
from tests.polling import wait_for
from tests.slack.live import running_app, slack_settings
from tests.slack.signed import slash_command
from tests.slack.test_app_interactions import click, submit
from tests.slack.test_blocks import fake_state_from

WORKFLOW = """
id: %(id)s
name: Shady
channel: "#work"
roles: {team: [U01ANN]}
egress: {allow: [127.0.0.1]}
steps:
  - id: triage
    ask: starter
    outputs: {team: string}
%(triage)s
  - id: sign
    approvers: [team]
%(sign)s
"""
TRIAGE_SHADOW = """    shadow:
      run: [python, cand.py]
      compare: {team: normalized}"""
SIGN_SHADOW = """    shadow:
      http: {url: "http://127.0.0.1:%d/decide", json: {team: "{{ steps.triage.team }}"}}"""
CANDIDATE = """
import json, os, pathlib
pathlib.Path("ran.txt").write_text(os.environ.get("CONDUCTOR_SHADOW", "unset"))
print(json.dumps({"team": "Backend"}))
"""


class Counting(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_POST(self):
        Counting.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"approved": true}')

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Counting.hits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()


def test_a_shadowed_run_makes_the_same_slack_calls_and_sends_nothing(migrated_db_url, tmp_path, server):
    from bot.slack.blocks import render_outbox

    folder = tmp_path / "wf"
    folder.mkdir()
    port = server.server_address[1]
    (folder / "shady.yaml").write_text(WORKFLOW % {"id": "shady", "triage": TRIAGE_SHADOW, "sign": SIGN_SHADOW % port})
    (folder / "plain.yaml").write_text(WORKFLOW % {"id": "plain", "triage": "", "sign": ""})
    (folder / "cand.py").write_text(CANDIDATE)
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, folder, fake)
        with running_app(settings) as (url, runtime):
            messenger = Messenger(runtime.engine, make_client(Settings(slack_bot_token="xoxb-test",
                                                                       slack_api_url=fake.url)),
                                  runtime.versions, render=render_outbox)
            clock = Clock(runtime.service, runtime.versions, workflows_dir=str(folder))
            seen, runs = {}, {}
            for n, workflow_id in enumerate(("shady", "plain")):
                before = len(fake.calls)
                runs[workflow_id] = drive(url, fake, runtime, messenger, clock, workflow_id, n * 10)
                calls = fake.calls[before:]
                seen[workflow_id] = [(c.method, _masked(c.params, runs[workflow_id])) for c in calls
                                     if c.method not in ("auth.test", "conversations.list", "conversations.history")]
            clock.worker.pool.close()
            posted = Counter(c.params["metadata"]["event_payload"]["key"] for c in fake.calls_to("chat.postMessage")
                             if c.status == 200 and c.params.get("metadata"))
            outbox = {run: [(kind, _masked(payload, run)) for r, kind, payload in
                            rows(runtime, "select run_id, kind, payload from outbox order by id") if r == run]
                      for run in runs.values()}
            cases = rows(runtime, "select step_id, candidate_status, agreed, candidate from shadow_cases order by id")
    # The same rows in the outbox, and the same calls made to Slack (each call once: how the
    # messenger's lanes interleave, and whether it repeats a call, is its own business).
    assert [key for key, times in posted.items() if times > 1] == []  # no outbox row posted twice
    assert outbox[runs["shady"]] == outbox[runs["plain"]]
    assert sorted(set(seen["shady"])) == sorted(set(seen["plain"]))
    assert not any("Backend" in params for _, params in seen["shady"])  # the candidate's answer
    assert Counting.hits == []  # the http shadow was never sent
    assert (folder / "ran.txt").read_text() == "1"
    assert [(s, st, ag) for s, st, ag, _ in cases] == [("triage", "ok", True), ("sign", "not_sent", None)]


def _masked(params, run_id):
    """A call's parameters with the run's own id (in buttons and metadata), the workflow's id,
    the channel (a name until the messenger knows its id), times and row keys masked."""
    import re

    blob = json.dumps(params, sort_keys=True, default=str).replace(run_id, "RUN")
    blob = re.sub(r"\b(shady|plain)\b", "WF", blob)
    blob = re.sub(r"#work|\bC[A-Z0-9]{8,}\b", "CHANNEL", blob)
    # The outbox row's own key counts the transition's effects, the shadow's audit rows among them.
    blob = re.sub(r"RUN:\d+:\d+", "RUN:KEY", blob)
    return re.sub(r"\d{9,}\.\d+|trig\d+|\bt\d+\b|\bV\d+\b", "N", blob)


def rows(runtime, sql):
    with runtime.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def drain(runtime, messenger):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messenger.deliver_due()
        pending = rows(runtime, "select count(*) from outbox where status in ('pending', 'sending')")[0][0]
        if pending == 0:
            return
        time.sleep(0.05)
    raise AssertionError("outbox not drained")


def settle_shadows(runtime, clock, run_id):
    clock.poll()
    wait_for(lambda: rows(runtime, "select count(*) from timers where kind = 'shadow' and run_id = "
                                   f"'{run_id}' and fired_at is null and cancelled_at is null")[0][0] == 0, 20)


def drive(url, fake, runtime, messenger, clock, workflow_id, n):
    known = {r for (r,) in rows(runtime, "select id from runs")}
    slash_command(url, f"start {workflow_id}", user="U01ANN", trigger=f"t{n}")
    run_id = wait_for(lambda: next((r for (r,) in rows(runtime, "select id from runs") if r not in known), None), 5)
    drain(runtime, messenger)
    settle_shadows(runtime, clock, run_id)
    drain(runtime, messenger)
    views = len(fake.calls_to("views.open"))
    click(url, a.SUBMIT, run_id, "triage", "U01ANN", n=n + 1)
    wait_for(lambda: len(fake.calls_to("views.open")) > views, 5)
    shown = fake.calls_to("views.open")[-1].params["view"]
    shown = shown if isinstance(shown, dict) else json.loads(shown)
    from bot.definitions.fields import FieldSpec

    filled = forms.step_form(run_id, "triage", "triage", {"team": FieldSpec(type="string")}, initial={"team": "backend"})
    submit(url, shown["callback_id"], json.loads(shown["private_metadata"]), fake_state_from(filled), "U01ANN",
           view_id=f"V{n}")
    wait_for(lambda: step(runtime, run_id, "sign") == "waiting_on_person", 5)
    drain(runtime, messenger)
    settle_shadows(runtime, clock, run_id)
    click(url, a.APPROVE, run_id, "sign", "U01ANN", n=n + 2)
    wait_for(lambda: rows(runtime, f"select status from runs where id = '{run_id}'")[0][0] == "completed", 5)
    settle_shadows(runtime, clock, run_id)
    drain(runtime, messenger)
    return run_id


def step(runtime, run_id, step_id):
    from bot.engine.state import RunState

    (raw,) = rows(runtime, f"select state from runs where id = '{run_id}'")[0]
    return RunState.from_json(raw if isinstance(raw, dict) else json.loads(raw)).steps[step_id].status.value
