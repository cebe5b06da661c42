"""Slack's side of Socket Mode, on 127.0.0.1: a WebSocket endpoint that greets each connection
with `hello`, delivers envelopes (slash commands, interactivity, events) and waits for the app
to acknowledge each by its `envelope_id`, as Slack does.

The local Slack's `apps.connections.open` hands out `url`; every connection gets its own
ticket in the URL, as Slack's do. It can also drop the connection (as a network would) or ask
the app to refresh it (Slack's `disconnect` message), to prove the app comes back.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve


@dataclass
class Envelope:
    """One delivery and what the app acknowledged (None until it does)."""

    envelope_id: str
    kind: str
    payload: dict[str, Any]
    ack: dict[str, Any] | None = None
    acked: threading.Event = field(default_factory=threading.Event)


class SocketModeServer:
    def __init__(self) -> None:
        self._server = serve(self._connection, "127.0.0.1", 0, compression=None, ping_interval=None)
        self.port = self._server.socket.getsockname()[1]
        self._tickets = itertools.count(1)
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._current: ServerConnection | None = None
        self.connections = 0  # every connection the app opened, over the server's life
        self.envelopes: dict[str, Envelope] = {}
        self._thread = threading.Thread(target=self._server.serve_forever, name="socket-mode", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """What `apps.connections.open` answers: a fresh ticket each time."""
        return f"ws://127.0.0.1:{self.port}/link/?ticket={next(self._tickets)}"

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def __enter__(self) -> SocketModeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the connection ----------------------------------------------------------------------
    def _connection(self, websocket: ServerConnection) -> None:
        with self._lock:
            self._current = websocket
            self.connections += 1
            self._lock.notify_all()
        websocket.send(json.dumps({"type": "hello", "num_connections": 1,
                                   "connection_info": {"app_id": "A0CONDUCTOR"},
                                   "debug_info": {"host": "local", "approximate_connection_time": 3600}}))
        try:
            for message in websocket:
                self._received(message)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                if self._current is websocket:
                    self._current = None
                self._lock.notify_all()

    def _received(self, message: str | bytes) -> None:
        try:
            answer = json.loads(message)
        except ValueError:
            return
        envelope = self.envelopes.get(str(answer.get("envelope_id")))
        if envelope is not None:
            envelope.ack = answer
            envelope.acked.set()

    def wait_connected(self, connections: int = 1, timeout: float = 15.0) -> None:
        """Until the app holds a live connection, its `connections`-th one or a later one."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._current is not None and self.connections >= connections, timeout):
                raise AssertionError(f"the app did not connect (connections so far: {self.connections})")

    def drop(self) -> None:
        """Cut the connection without a goodbye, as a network would."""
        with self._lock:
            current = self._current
        assert current is not None, "no connection to drop"
        current.socket.close()

    def ask_to_refresh(self) -> None:
        """Slack's notice that this connection will close: the app opens a new one."""
        self._send({"type": "disconnect", "reason": "refresh_requested",
                    "debug_info": {"host": "local"}})

    def _send(self, message: dict[str, Any]) -> None:
        with self._lock:
            current = self._current
        assert current is not None, "the app is not connected"
        current.send(json.dumps(message))

    # --- deliveries --------------------------------------------------------------------------
    def deliver(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0, retry_reason: str = "",
                envelope_id: str | None = None, timeout: float = 10.0) -> Envelope:
        """Send one envelope and wait for its acknowledgement (Slack's limit is 3 s; the wait
        here is longer so a slow machine fails on the assertion, not on the clock)."""
        envelope = Envelope(envelope_id or f"env-{next(self._ids):06d}", kind, payload)
        self.envelopes[envelope.envelope_id] = envelope
        message: dict[str, Any] = {"envelope_id": envelope.envelope_id, "type": kind, "payload": payload,
                                   "accepts_response_payload": kind != "events_api"}
        if kind == "events_api":
            message["retry_attempt"], message["retry_reason"] = retry_attempt, retry_reason
        started = time.monotonic()
        self._send(message)
        if not envelope.acked.wait(timeout):
            raise AssertionError(f"envelope {envelope.envelope_id} ({kind}) was not acknowledged")
        envelope.payload = {**payload, "_seconds": time.monotonic() - started}
        return envelope

    def command(self, text: str, *, user: str, channel: str = "C0GENERAL", trigger_id: str = "trig-1",
                team: str = "T0LOCAL") -> Envelope:
        return self.deliver("slash_commands", {
            "token": "unused", "team_id": team, "channel_id": channel, "channel_name": "general",
            "user_id": user, "user_name": user.lower(), "command": "/conductor", "text": text,
            "api_app_id": "A0CONDUCTOR", "is_enterprise_install": "false", "trigger_id": trigger_id,
            "response_url": "http://127.0.0.1:9/unused",
        })

    def interactive(self, payload: dict[str, Any]) -> Envelope:
        return self.deliver("interactive", payload)

    def event(self, event: dict[str, Any], *, event_id: str, retry_attempt: int = 0, team: str = "T0LOCAL") -> Envelope:
        return self.deliver("events_api", {
            "type": "event_callback", "team_id": team, "api_app_id": "A0CONDUCTOR", "event_id": event_id,
            "event_time": int(time.time()), "event": event,
        }, retry_attempt=retry_attempt, retry_reason="timeout" if retry_attempt else "")
