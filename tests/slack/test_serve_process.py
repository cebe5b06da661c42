"""`conductor serve` as a real process: Slack's signed request in, the run's messages out to
the (fake) Slack Web API through the outbox, then a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from bot.store.migrate import upgrade
from tests.fakeslack import FakeSlack
from tests.slack.signed import SIGNING_SECRET, slash_command

WORKFLOW = """
id: hello
channel: "#general"
steps:
  - id: greet
    uses: conductor/post
    with: {text: "Hello from {{ run.id }}"}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_slack_and_delivers_the_run(tmp_path):
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "hello.yaml").write_text(WORKFLOW)
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    port = free_port()
    with FakeSlack() as fake:
        env = {**os.environ, "DATABASE_URL": url, "WORKFLOWS_DIR": str(folder), "SLACK_BOT_TOKEN": "xoxb-test",
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.url, "PORT": str(port)}
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    assert time.monotonic() < deadline and process.poll() is None, "serve did not come up"
                    time.sleep(0.1)
            status, _, seconds = slash_command(f"http://127.0.0.1:{port}/slack/events", "start hello")
            assert status == 200 and seconds < 3
            channel = fake.channel_id("#general")
            deadline = time.monotonic() + 20
            while not any("Hello from" in (m.get("text") or "") for m in fake.messages(channel)):
                assert time.monotonic() < deadline, fake.messages(channel)
                time.sleep(0.1)
            header = fake.messages(channel)[0]
            assert [m["text"] for m in fake.thread(channel, header["ts"])[1:] if "Hello" in m["text"]]
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Traceback" not in output
