"""The real app served over HTTP on 127.0.0.1, for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.engine.permissions import Directory
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.slack.web import LocalServer, wsgi_app
from bot.webhooks import webhook_app


@contextmanager
def serve_wsgi(application) -> Iterator[str]:
    """Serve a WSGI app on a free port; yields the Slack events URL."""
    server = LocalServer(application)
    try:
        yield server.events_url
    finally:
        server.close()


@contextmanager
def running_app(settings: Settings, directory: Directory | None = None) -> Iterator[tuple[str, Runtime]]:
    runtime = build_runtime(settings, directory=directory)
    try:
        application = wsgi_app(build_app(runtime, make_client(settings)), database=runtime.engine,
                               webhooks=webhook_app(runtime.service, runtime.versions))
        with serve_wsgi(application) as url:
            yield url, runtime
    finally:
        runtime.close()
