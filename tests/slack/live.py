"""The real app served over HTTP on 127.0.0.1, for tests and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.engine.permissions import Directory
from bot.localslack import LocalSlack
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.slack.web import LocalServer, wsgi_app
from bot.webhooks import webhook_app
from tests.slack.signed import SIGNING_SECRET


def slack_settings(database_url: str, folder: Path, slack: LocalSlack, workflows: dict[str, str] | None = None,
                   **extra: Any) -> Settings:
    """Settings for the app under test: its database, the workflow files written into `folder`
    (when given), the test signing secret, and `slack` as the Web API."""
    if workflows is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in workflows.items():
            (folder / name).write_text(text)
    return Settings(database_url=database_url, workflows_dir=str(folder), slack_bot_token="xoxb-test",
                    slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.url, **extra)


@contextmanager
def serve_wsgi(application) -> Iterator[str]:
    """Serve a WSGI app on a free port; yields the Slack events URL."""
    server = LocalServer(application)
    try:
        yield server.events_url
    finally:
        server.close()


def clock_from(start: datetime) -> Callable[[], datetime]:
    """A clock that reads `start` now and then runs at the real clock's pace.

    For the app served over HTTP, where a test waits in real time for listeners: what the
    engine decides by the date (weekdays, holidays, windows in a person's own time zone)
    comes out the same whatever day the test runs on.
    """
    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)


@contextmanager
def running_app(settings: Settings, directory: Directory | None = None, *,
                clock: Callable[[], datetime] | None = None) -> Iterator[tuple[str, Runtime]]:
    """The app over HTTP; `clock` is the engine service's (the real clock when not given)."""
    runtime = build_runtime(settings, directory=directory, clock=clock)
    try:
        application = wsgi_app(build_app(runtime, make_client(settings)), database=runtime.engine,
                               webhooks=webhook_app(runtime.usecases))
        with serve_wsgi(application) as url:
            yield url, runtime
    finally:
        runtime.close()
