"""HTTP: `POST /slack/events` (events, commands, interactivity) and `GET /healthz`, as one
WSGI application served by waitress (threads, so slow requests do not block others)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

MAX_BODY_BYTES = 1024 * 1024  # Slack's payloads are far smaller; refuse anything larger


def wsgi_app(app: App, health: Callable[[], bool] = lambda: True) -> Callable[..., Iterable[bytes]]:
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method == "GET":
            ok = health()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"ok\n" if ok else b"unhealthy\n"]
        if path == "/slack/events" and method == "POST":
            if int(environ.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
                start_response("413 Payload Too Large", [("Content-Type", "text/plain")])
                return [b"too large\n"]
            return slack(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return application
