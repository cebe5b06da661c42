"""A rehearsal session: the real Conductor (engine, clock, Bolt app over HTTP, messenger,
SQLite) against the local Slack, with people played from the terminal.

Every person's action is a signed Slack request to the app's `/slack/events`; the app answers
through the local Web API; the shell shows what changed. Time is virtual (see `rehearsal`).
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bot.localslack.requests import SlackRequests
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.shell.cast import Cast
from bot.shell.rehearsal import Rehearsal, RehearsalWorker, VirtualClock
from bot.shell.render import Names, Numbering, Style
from bot.shell.screen import Screen
from bot.shell.shadows import RehearsalShadows
from bot.shell.workspace import ShellWorkspace
from bot.slack.app import build_app
from bot.slack.blocks.outbox import render_outbox
from bot.slack.client import make_client
from bot.slack.messenger import Messenger
from bot.slack.people import refresh_people, refresh_user
from bot.slack.web import LocalServer, wsgi_app
from bot.store.migrate import upgrade

log = logging.getLogger("conductor.shell")
DEFAULT_CHANNEL = "#general"


class TrackedExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, able to say when all the work it was given is done."""

    def __init__(self) -> None:
        super().__init__(max_workers=4, thread_name_prefix="shell-listener")
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[override]
        with self._idle:
            self._pending += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)


class Session:
    """Everything a rehearsal needs, started and stopped together."""

    def __init__(self, *, workflows_dir: str, database_url: str | None = None, start: datetime | None = None,
                 color: bool = False, live_http: bool = False):
        self._folder = tempfile.TemporaryDirectory(prefix="conductor-shell-")
        self.database_url = database_url or f"sqlite:///{Path(self._folder.name) / 'rehearsal.db'}"
        upgrade(self.database_url)
        self.clock = VirtualClock(start or datetime.now(UTC).replace(second=0, microsecond=0))
        self.tellings: list[str] = []
        self.workspace = ShellWorkspace()
        self.workspace.start()
        secret = secrets.token_hex(16)
        self.settings = Settings(
            database_url=self.database_url, workflows_dir=workflows_dir, slack_bot_token="xoxb-local-shell",
            slack_signing_secret=secret, slack_api_url=self.workspace.url, escalation_channel=None,
            log_format="text",
        )
        client = self.client = make_client(self.settings)
        self.runtime = build_runtime(self.settings, clock=self.clock)
        self.cast = Cast.from_workflows([self.runtime.versions.current(w).workflow
                                         for w in self.runtime.versions.workflow_ids()])
        self.settings.admins = ",".join(self.cast.people)  # whoever rehearses may reload
        self.workspace.users.update(self.cast.slack_users())
        self.workspace.groups.update({g: list(m) for g, m in self.cast.groups.items()})
        refresh_people(client, self.runtime.engine, self.clock())  # the cast, into the tables the engine reads
        self.executor = TrackedExecutor()
        app = build_app(self.runtime, client, listener_executor=self.executor)
        self._server = LocalServer(wsgi_app(app), threads=4)
        self.requests = SlackRequests(self._server.events_url, secret,
                                      team_id=self.workspace.team_id)
        messenger = Messenger(self.runtime.engine, client, self.runtime.versions, render=render_outbox,
                              clock=self.clock, rate=1000.0, burst=1000)
        worker = RehearsalWorker(self.runtime.service, self.runtime.versions, workflows_dir,
                                 live_http=live_http, tell=self.tellings.append)
        shadows = RehearsalShadows(self.runtime.service, self.runtime.versions, workflows_dir,
                                   tell=self.tellings.append)
        self.rehearsal = Rehearsal(self.runtime.service, self.runtime.versions, worker, messenger, self.clock,
                                   self.executor.wait_idle, shadows)
        self.user = next(iter(self.cast.people.values()))
        self.style = Style(color)
        self.names = Names(user=self.cast.name_of, channel=self._channel_name, group=self.cast.group_name)
        self.screen = Screen(self.workspace, self.names, self.style, Numbering(), self.clock, lambda: self.user.tz)
        self.problems = [p.format() for p in self.runtime.catalog.problems]

    def _channel_name(self, channel_id: str) -> str:
        return self.workspace.channel_name(channel_id) or channel_id

    def refresh_person(self, user_id: str) -> None:
        """Read one person again from the local Slack into the tables the engine reads (after
        `:tz` moved them), as Slack's `user_change` event makes the app do."""
        refresh_user(self.client, self.runtime.engine, user_id, self.clock())

    def channel_id(self, name: str) -> str:
        """`#content` (or a channel ID) as the local Slack's channel ID."""
        if not name.startswith("#") and not name.startswith("C"):
            raise ValueError(f"{name!r} is not a channel: write #name")
        return self.workspace.channel_id(name)

    def close(self) -> None:
        self.executor.wait_idle(timeout=5)
        self._server.close()
        self.executor.shutdown(wait=True)
        self.rehearsal.worker.shutdown(wait=True)
        self.runtime.close()
        self.workspace.close()
        self._folder.cleanup()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
