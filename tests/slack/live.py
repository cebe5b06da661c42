"""The real app served over HTTP on 127.0.0.1, for tests and benchmarks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from waitress import create_server

from bot.engine.permissions import Directory
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.slack.web import wsgi_app


@contextmanager
def serve_wsgi(application) -> Iterator[str]:
    """Serve a WSGI app with waitress on a free port; yields the Slack events URL."""
    server = create_server(application, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/slack/events"
    finally:
        server.close()


@contextmanager
def running_app(settings: Settings, directory: Directory | None = None) -> Iterator[tuple[str, Runtime]]:
    runtime = build_runtime(settings, directory=directory)
    try:
        with serve_wsgi(wsgi_app(build_app(runtime, make_client(settings)), database=runtime.engine)) as url:
            yield url, runtime
    finally:
        runtime.close()
