"""One stage for the resilience tests: the real Bolt app over HTTP, a real database, the real
messenger delivering the outbox, and the fake Slack Web API playing a misbehaving Slack.

The app's lazy listeners run on a pool that can say when all the work it was handed is done,
so a test waits for exactly the work its requests caused (no sleeps, no guessing).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.engine.permissions import StaticDirectory
from bot.engine.state import RunState
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.shell.session import TrackedExecutor
from bot.slack.app import build_app
from bot.slack.blocks.outbox import render_outbox
from bot.slack.client import make_client
from bot.slack.messenger import Messenger
from bot.slack.web import wsgi_app
from bot.store.models import Run
from tests.fakeslack import FakeSlack
from tests.polling import wait_for
from tests.slack.live import serve_wsgi
from tests.slack.signed import SIGNING_SECRET


@dataclass
class Stage:
    url: str
    fake: FakeSlack
    runtime: Runtime
    executor: TrackedExecutor
    settings: Settings
    messenger_options: dict[str, Any]
    client_timeout: float
    messenger: Messenger | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    # --- the messenger, as the leading clock runs it -------------------------------------------
    def new_messenger(self) -> Messenger:
        client = make_client(self.settings, timeout=self.client_timeout)
        return Messenger(self.runtime.engine, client, self.runtime.versions, render=render_outbox,
                         **self.messenger_options)

    def start_messenger(self, target: Callable[[Messenger, threading.Event], None] | None = None) -> Messenger:
        """A new messenger (as after a restart) delivering in its own thread."""
        self.stop_messenger()
        self.messenger = self.new_messenger()
        self._stop = threading.Event()
        run = target or (lambda messenger, stop: messenger.run(stop, idle_seconds=0.02))
        self._thread = threading.Thread(target=run, args=(self.messenger, self._stop), daemon=True)
        self._thread.start()
        return self.messenger

    def stop_messenger(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=30)
            assert not self._thread.is_alive(), "the messenger did not stop"
            self._thread = None

    def messenger_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- waiting and looking ----------------------------------------------------------------------
    def settle(self) -> None:
        """Wait until the app has done all the work its requests asked for."""
        self.executor.wait_idle(timeout=30)

    def drained(self, timeout: float = 30.0) -> None:
        """Wait until every outbox row has been sent (or refused for good)."""
        wait_for(lambda: self.scalar("select count(*) from outbox where status in ('pending', 'sending')") == 0,
                 timeout, lambda: self.rows("select id, kind, channel, status, attempts, error from outbox "
                                            "where status != 'sent' order by id"))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.runtime.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.runtime.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]

    def run_ids(self) -> list[str]:
        return [r for (r,) in self.rows("select id from runs order by created_at, id")]

    def state(self, run_id: str) -> RunState:
        with self.runtime.sessions() as session:
            return RunState.from_json(session.get_one(Run, run_id).state)

    def thread_of(self, run_id: str) -> tuple[str, str]:
        """(channel id, thread ts) of a run, once the messenger has posted its header."""
        return wait_for(lambda: self.rows("select channel, thread_ts from runs where id = :r and thread_ts is not null",
                                          r=run_id), 15)[0]


NAMED_CHANNEL = re.compile(r"""channel:\s*["']?#([\w-]+)""")


@contextmanager
def stage(db_url: str, tmp_path: Path, workflows: dict[str, str], *, fake: dict[str, Any] | None = None,
          messenger: dict[str, Any] | None = None, client_timeout: float = 1.0, deliver: bool = True) -> Iterator[Stage]:
    """The app serving `workflows` (file name -> YAML) on `db_url`, against a fake Slack made
    with `fake` options, where the channels the workflows name already exist; the messenger
    (made with `messenger` options) runs when `deliver`. `client_timeout` is short: a post
    whose fate is unknown is sent again after three of them."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    for name, source in workflows.items():
        (folder / f"{name}.yaml").write_text(source)
    with FakeSlack(**(fake or {})) as slack:
        for name in sorted({m for source in workflows.values() for m in NAMED_CHANNEL.findall(source)}):
            slack.add_channel(name)
        settings = Settings(database_url=db_url, workflows_dir=str(folder), slack_bot_token="xoxb-test",
                            slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.url)
        runtime = build_runtime(settings, directory=StaticDirectory({}))
        executor = TrackedExecutor()
        try:
            app = build_app(runtime, make_client(settings), listener_executor=executor)
            with serve_wsgi(wsgi_app(app)) as url:
                on = Stage(url, slack, runtime, executor, settings, dict(messenger or {}), client_timeout)
                if deliver:
                    on.start_messenger()
                try:
                    yield on
                finally:
                    on.stop_messenger()
                    on.settle()
        finally:
            executor.shutdown(wait=True)
            runtime.close()
