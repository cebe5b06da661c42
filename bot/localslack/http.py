"""The HTTP side of the local Web API: requests parsed the way Slack takes them (form or JSON
bodies, JSON-encoded parameters), answered with Slack's JSON and headers."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from bot.localslack.web_api import LocalSlack

# Parameters Slack takes as JSON-encoded strings in form bodies.
JSON_PARAMS = {"blocks", "attachments", "view", "metadata", "unfurls", "user_auth_blocks"}


def _parse(body: bytes, content_type: str, query: str) -> dict[str, Any]:
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if body and "json" in content_type:
        params.update(json.loads(body.decode("utf-8")))
    elif body:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        params.update({k: v[-1] for k, v in form.items()})
    for key in JSON_PARAMS & params.keys():
        if isinstance(params[key], str):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(params[key])
    return params


def handler_for(fake: LocalSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            method = url.path.rsplit("/api/", 1)[-1].strip("/")
            try:
                params = _parse(body, headers.get("content-type", ""), url.query)
            except (ValueError, TypeError):
                params = {}
            status, extra, answer = fake._handle(method, params, headers)
            payload = json.dumps(answer).encode()
            if self._client_gone():
                self.close_connection = True
                fake._answered(False)
                return
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up (timed out on a hang): the call stands
                self.close_connection = True
                fake._answered(False)
            else:
                fake._answered(True)

        def _client_gone(self) -> bool:
            """Whether the client hung up while the call was held (its end reads as closed)."""
            try:
                readable, _, _ = select.select([self.connection], [], [], 0)
                return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
            except OSError:
                return True

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class LocalServer(ThreadingHTTPServer):
    """The HTTP server, quiet about clients that hung up (a client that timed out is no error
    of the server's); anything else is still printed, as `socketserver` prints it."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)
