"""HTTP: `POST /slack/events` (events, commands, interactivity), `GET /healthz` and
`GET /metrics`, as one WSGI application served by waitress (threads, so slow requests do not
block others)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine

from bot.observability.metrics import observe_slack_ack, scrape
from bot.slack.lookup import request_problem

MAX_BODY_BYTES = 1024 * 1024  # Slack's payloads are far smaller; refuse anything larger


def wsgi_app(app: App | None, health: Callable[[], bool] = lambda: True, *, database: Engine | None = None,
             webhooks: Callable[..., Iterable[bytes]] | None = None) -> Callable[..., Iterable[bytes]]:
    """The web application. `database` lets `/metrics` report the database's figures (runs,
    steps, outbox); without it `/metrics` shows this process's own figures only. `webhooks`
    serves `POST /webhooks/<workflow>` (see `bot.webhooks`). Without `app` (Socket Mode, where
    Slack's requests come over the socket) `POST /slack/events` is not served."""
    slack = SlackRequestHandler(app, path="/slack/events") if app is not None else None

    def acknowledge(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # Bolt answers once the listener has acknowledged (the work goes on afterwards), so
        # this is the time Slack waits for us, measured from the moment waitress hands it over.
        started = time.perf_counter()
        status = ["500"]

        def record_status(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = line.split(" ", 1)[0]
            return start_response(line, headers, exc_info)

        assert slack is not None  # only routed here when Slack's requests come over HTTP
        try:
            return slack(environ, record_status)
        finally:
            observe_slack_ack(status[0], time.perf_counter() - started)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method == "GET":
            ok = health()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"ok\n" if ok else b"unhealthy\n"]
        if path == "/metrics" and method == "GET":
            body, content_type = scrape(database)
            start_response("200 OK", [("Content-Type", content_type)])
            return [body]
        if path == "/slack/events" and method == "POST" and slack is not None:
            if int(environ.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
                start_response("413 Payload Too Large", [("Content-Type", "text/plain")])
                return [b"too large\n"]
            # Bolt raises (a 500) on a timestamp or a body it cannot read, before it checks
            # anything: such a request is answered here, and Bolt reads the same bytes.
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            refused = request_problem(body, environ.get("CONTENT_TYPE", ""),
                                      environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"))
            if refused is not None:
                status, why = refused
                start_response("401 Unauthorized" if status == 401 else "400 Bad Request",
                               [("Content-Type", "text/plain")])
                return [why.encode() + b"\n"]
            return acknowledge(environ, start_response)
        if path.startswith("/webhooks/") and method == "POST" and webhooks is not None:
            return webhooks(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return application


class LocalServer:
    """The web application served on 127.0.0.1 (a free port) from a background thread: for the
    shell and the tests, which talk to the real app over real HTTP."""

    def __init__(self, application: Callable[..., Iterable[bytes]], *, threads: int = 8):
        from waitress import create_server

        self._server = create_server(application, host="127.0.0.1", port=0, threads=threads)
        self._loop = threading.Thread(target=self._server.run, name="local-web", daemon=True)
        self._loop.start()

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self._server.effective_port}/slack/events"

    def close(self) -> None:
        """Let the request threads finish, then close from inside the server's own loop (closing
        its sockets from outside breaks the loop's select)."""
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        self._server.trigger.pull_trigger(self._server.close)
        self._loop.join(timeout=5)
