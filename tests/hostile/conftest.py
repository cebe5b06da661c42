"""The real app over signed HTTP, for hostile input: the workflows of `workflows/`, the fake
Slack Web API, a listener pool that says when all work is done, and a record of what the
app logged at WARNING and above (hostile input must never produce an ERROR)."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.engine.state import RunState
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.shell.session import TrackedExecutor
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.slack.web import wsgi_app
from tests.fakeslack import FakeSlack
from tests.polling import wait_for  # noqa: F401 (the tests here import it from this module)
from tests.slack.live import serve_wsgi
from tests.slack.signed import SIGNING_SECRET, post, slash_command

WORKFLOWS = Path(__file__).parent / "workflows"
STARTER, BOB, APPROVER, LEAD, ADMIN, OTHER_ADMIN = "U01ANN", "U02BOB", "U03CAT", "U04LEAD", "U01ANN", "U05ADM"
OUTSIDER = "U09OUT"
THREAD = "1700000000.000100"
TABLES = ("runs", "step_runs", "inbound_events", "outbox", "audit_events", "timers")


class Records(logging.Handler):
    """Every record logged anywhere in the process at WARNING and above."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self.guard:
            self.records.append(record)

    def errors(self) -> list[str]:
        with self.guard:
            return [f"{r.name}: {r.getMessage()}" for r in self.records if r.levelno >= logging.ERROR]


@dataclass
class Live:
    url: str
    fake: FakeSlack
    runtime: Runtime
    executor: TrackedExecutor
    folder: Path
    logs: Records
    triggers: list[int] = field(default_factory=lambda: [0])

    def trigger(self) -> str:
        """A fresh trigger id, as Slack gives each command and click."""
        self.triggers[0] += 1
        return f"trig{self.triggers[0]}"

    def idle(self) -> None:
        """Wait until the work every request asked for is done."""
        self.executor.wait_idle(timeout=30)

    def command(self, text_: str, user: str = STARTER, **kw: Any) -> tuple[int, bytes]:
        status, body, _ = slash_command(self.url, text_, user=user, trigger=self.trigger(), **kw)
        return status, body

    def interactive(self, payload: Any, **kw: Any) -> tuple[int, bytes]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        status, answer, _ = post(self.url, body, "application/x-www-form-urlencoded", **kw)
        return status, answer

    def counts(self) -> dict[str, int]:
        with self.runtime.engine.connect() as conn:
            return {t: conn.execute(text(f"select count(*) from {t}")).scalar_one() for t in TABLES}

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.runtime.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def state(self, run_id: str) -> RunState:
        with self.runtime.engine.connect() as conn:
            raw = conn.execute(text("select state from runs where id = :r"), {"r": run_id}).scalar_one()
        return RunState.from_json(raw if isinstance(raw, dict) else json.loads(raw))

    def start(self, workflow_id: str = "hostile", user: str = STARTER, inputs: dict[str, Any] | None = None) -> str:
        """A run started through the engine, its thread set as the messenger would set it."""
        if inputs is None:
            inputs = {"title": "A title"} if workflow_id == "hostile" else {}
        result = self.runtime.service.start(workflow_id, user, inputs, channel="C0WORK")
        assert result.accepted, result.reason
        with self.runtime.engine.begin() as conn:
            conn.execute(text("update runs set channel = 'C0WORK', thread_ts = :t || id where id = :r"),
                         {"t": THREAD, "r": result.run_id})
        return result.run_id

    def thread_of(self, run_id: str) -> str:
        return THREAD + run_id

    def said_to(self, user: str) -> list[str]:
        """Texts of the ephemerals and DMs `user` was sent."""
        return [c.params.get("text", "") for c in self.fake.calls
                if (c.method == "chat.postEphemeral" and c.params.get("user") == user)
                or (c.method == "chat.postMessage" and c.params.get("channel") == user)]


@contextmanager
def serve(database_url: str, folder: Path, *, slack_rate: float = 1000.0) -> Iterator[Live]:
    """The app on `folder`'s workflows. The fake Slack allows `slack_rate` messages per second
    per channel: these tests send many notes to one person, and rate limits are not their
    subject (`slack_rate=1` is Slack's own)."""
    logs = Records()
    logging.getLogger().addHandler(logs)
    try:
        with FakeSlack(rate=slack_rate, burst=int(slack_rate)) as fake:
            settings = Settings(database_url=database_url, workflows_dir=str(folder), slack_bot_token="xoxb-test",
                                slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.url,
                                admins=f"{ADMIN},{OTHER_ADMIN}")
            runtime = build_runtime(settings)
            executor = TrackedExecutor()
            try:
                app = build_app(runtime, make_client(settings), listener_executor=executor)
                with serve_wsgi(wsgi_app(app)) as url:
                    yield Live(url, fake, runtime, executor, folder, logs)
            finally:
                executor.wait_idle(timeout=30)
                executor.shutdown(wait=True)
                runtime.close()
    finally:
        logging.getLogger().removeHandler(logs)


@pytest.fixture
def live(migrated_db_url: str) -> Iterator[Live]:
    with serve(migrated_db_url, WORKFLOWS) as app:
        yield app


@pytest.fixture
def live_copy(migrated_db_url: str, tmp_path: Path) -> Iterator[Live]:
    """Like `live`, on a copy of the workflows that a test may change."""
    folder = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    with serve(migrated_db_url, folder) as app:
        yield app


