"""Socket Mode end to end: the real Bolt app connected with its app-level token to a local
Socket Mode server (a WebSocket, plus the local Slack's `apps.connections.open`), receiving
commands, clicks, form submissions and events as envelopes and acknowledging each.

No signing secret anywhere: Slack signs nothing on a socket the app opened itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from bot.runtime import build_runtime
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.blocks import actions as a
from bot.slack.client import make_client
from bot.slack.socket_mode import open_socket
from tests.fakeslack import FakeSlack
from tests.polling import wait_for
from tests.slack.socket_server import SocketModeServer
from tests.slack.test_app_interactions import WORKFLOW  # the same review: write, check, approve
from tests.slack.test_serve_process import free_port

APP_TOKEN = "xapp-1-A0CONDUCTOR-test"
THREAD_TS = "1700000000.000100"


def socket_settings(database_url: str, folder, fake: FakeSlack) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "review.yaml").write_text(WORKFLOW)
    return Settings(database_url=database_url, workflows_dir=str(folder), slack_bot_token="xoxb-test",
                    slack_app_token=APP_TOKEN, slack_signing_secret=None, slack_api_url=fake.url)


@contextmanager
def connected_app(database_url: str, folder) -> Iterator[tuple[SocketModeServer, FakeSlack, object]]:
    with FakeSlack() as fake, SocketModeServer() as server:
        fake.app_token, fake.socket_url = APP_TOKEN, server.url
        settings = socket_settings(database_url, folder, fake)
        runtime = build_runtime(settings)
        client = make_client(settings)
        handler = open_socket(build_app(runtime, client, socket_mode=True), APP_TOKEN, ping_interval=1)
        try:
            server.wait_connected()
            yield server, fake, runtime
        finally:
            handler.close()
            runtime.close()


def scalar(runtime, sql: str):
    with runtime.engine.connect() as connection:
        return connection.execute(text(sql)).scalar()


def step_status(runtime, run_id: str, step_id: str) -> str:
    from bot.engine.state import RunState
    from bot.store.models import Run

    with runtime.sessions() as session:
        return RunState.from_json(session.get_one(Run, run_id).state).steps[step_id].status.value


def click(action_id: str, run_id: str, step_id: str, user: str, n: int) -> dict:
    return {
        "type": "block_actions", "user": {"id": user}, "team": {"id": "T0LOCAL"}, "trigger_id": f"trig-click-{n}",
        "channel": {"id": "C0WORK"}, "container": {"type": "message", "message_ts": THREAD_TS},
        "api_app_id": "A0CONDUCTOR",
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "action_ts": f"170000000{n}.0",
                     "value": a.action_value(run_id, step_id)}],
    }


def submission(view: dict, values: dict, user: str, view_id: str) -> dict:
    return {"type": "view_submission", "user": {"id": user}, "team": {"id": "T0LOCAL"}, "api_app_id": "A0CONDUCTOR",
            "trigger_id": f"trig-{view_id}",
            "view": {"id": view_id, "hash": f"h-{view_id}", "callback_id": view["callback_id"], "type": "modal",
                     "private_metadata": view["private_metadata"], "state": {"values": values}}}


def test_a_run_conducted_over_the_socket(migrated_db_url, tmp_path):
    with connected_app(migrated_db_url, tmp_path / "wf") as (server, fake, runtime):
        started = server.command("start review", user="U01ANN")
        assert started.ack is not None and started.payload["_seconds"] < 3
        run_id = wait_for(lambda: scalar(runtime, "select id from runs"), 5)
        with runtime.engine.begin() as connection:  # as the messenger would, once the header is posted
            connection.execute(text(f"update runs set channel = 'C0WORK', thread_ts = '{THREAD_TS}'"))

        # A thread reply answers "write"; Slack delivers the event again (a retry, a new
        # envelope, the same event id): it is applied once.
        reply = {"type": "message", "channel": "C0WORK", "user": "U01ANN", "text": "My draft",
                 "ts": "1700000001.000200", "thread_ts": THREAD_TS}
        server.event(reply, event_id="Ev0001")
        server.event(reply, event_id="Ev0001", retry_attempt=1)
        wait_for(lambda: step_status(runtime, run_id, "write") == "completed", 5)
        assert scalar(runtime, "select count(*) from audit_events where type = 'step_completed' "
                               "and step_id = 'write'") == 1

        # "check" is a form: Submit opens it, a bad number comes back in the socket's
        # acknowledgement as a field error, a good one completes the step.
        server.interactive(click(a.SUBMIT, run_id, "check", "U01ANN", 1))
        opened = wait_for(lambda: fake.calls_to("views.open"), 5)
        view = opened[0].params["view"]
        refused = server.interactive(submission(view, {"words": {"value": {"type": "number_input", "value": "3"}}},
                                                "U01ANN", "V1"))
        assert refused.ack["payload"]["response_action"] == "errors"
        assert "words" in refused.ack["payload"]["errors"]
        assert step_status(runtime, run_id, "check") == "waiting_on_person"
        accepted = server.interactive(submission(view, {"words": {"value": {"type": "number_input", "value": "300"}}},
                                                 "U01ANN", "V2"))
        assert not accepted.ack.get("payload")
        assert step_status(runtime, run_id, "check") == "completed"

        # The approver approves from the thread; the run completes.
        server.interactive(click(a.APPROVE, run_id, "approve", "U03CAT", 2))
        wait_for(lambda: scalar(runtime, "select status from runs") == "completed", 5)


def test_a_dropped_connection_is_resumed(migrated_db_url, tmp_path):
    with connected_app(migrated_db_url, tmp_path / "wf") as (server, fake, runtime):
        server.drop()  # the network cuts it, no goodbye
        server.wait_connected(2)
        server.ask_to_refresh()  # Slack's own notice that a connection will close
        server.wait_connected(3)
        assert len(fake.calls_to("apps.connections.open")) >= 3  # a fresh URL each time
        started = server.command("start review", user="U02BOB", trigger_id="trig-after")
        assert started.ack is not None
        assert wait_for(lambda: scalar(runtime, "select count(*) from runs") == 1, 5)


def test_a_command_delivered_twice_starts_one_run(migrated_db_url, tmp_path):
    with connected_app(migrated_db_url, tmp_path / "wf") as (server, fake, runtime):
        first = server.command("start review", user="U01ANN", trigger_id="trig-same")
        again = server.command("start review", user="U01ANN", trigger_id="trig-same")
        assert first.ack is not None and again.ack is not None
        time.sleep(0.3)
        assert scalar(runtime, "select count(*) from runs") == 1


def test_an_outsider_is_refused_over_the_socket(migrated_db_url, tmp_path):
    with connected_app(migrated_db_url, tmp_path / "wf") as (server, fake, runtime):
        server.command("start review", user="U09EVE", trigger_id="trig-eve")
        told = wait_for(lambda: [c.params.get("text", "") for c in fake.calls_to("chat.postEphemeral")]
                        + [c.params.get("text", "") for c in fake.calls_to("chat.postMessage")
                           if c.params.get("channel") == "U09EVE"], 5)
        assert told and scalar(runtime, "select count(*) from runs") == 0


# --- `conductor serve --socket` as a process ---------------------------------------------------
def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_serve_socket_needs_only_the_two_tokens(tmp_path):
    """A new SQLite file (no `db upgrade`), no signing secret: the process migrates, connects,
    serves /healthz, /metrics and webhooks on PORT, and conducts a run from the socket."""
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "hello.yaml").write_text('id: hello\nchannel: "#general"\nsteps:\n'
                                       '  - id: greet\n    uses: conductor/post\n    with: {text: "Hello over the socket"}\n')
    port = free_port()
    with FakeSlack() as fake, SocketModeServer() as server:
        fake.app_token, fake.socket_url = APP_TOKEN, server.url
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}", "WORKFLOWS_DIR": str(folder),
                    "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": fake.url,
                    "PORT": str(port)})
        begun = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--socket"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: process.poll() is not None or _healthy(port), 30)
            assert process.poll() is None, process.communicate(timeout=5)[0]
            healthy_after = time.monotonic() - begun
            server.wait_connected()
            assert _get(f"http://127.0.0.1:{port}/slack/events")[0] == 404
            assert b"conductor_" in _get(f"http://127.0.0.1:{port}/metrics")[1]
            assert server.command("start hello", user="U01ANN").ack is not None
            channel = fake.channel_id("#general")
            wait_for(lambda: any("Hello over the socket" in (m.get("text") or "") for m in fake.messages(channel)), 20)
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Traceback" not in output
    print(f"healthy after {healthy_after:.2f} s")  # quoted in the issue note, not asserted


def _healthy(port: int) -> bool:
    try:
        return _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    except OSError:
        return False


@pytest.mark.parametrize("token", ["xapp-wrong"])
def test_serve_socket_with_a_refused_app_token_is_one_line(tmp_path, token):
    folder = tmp_path / "wf"
    folder.mkdir()
    with FakeSlack() as fake, SocketModeServer() as server:
        fake.app_token, fake.socket_url = APP_TOKEN, server.url
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}", "WORKFLOWS_DIR": str(folder),
                    "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": token, "SLACK_API_URL": fake.url,
                    "PORT": str(free_port())})
        done = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--socket"], env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    problems = [line for line in done.stderr.splitlines() if line.startswith("conductor: ")]
    assert problems == ["conductor: SLACK_APP_TOKEN: Slack refused to open a Socket Mode connection (invalid_auth); "
                        "check the app-level token has connections:write and Socket Mode is on for the app"]
    assert "Traceback" not in done.stderr
