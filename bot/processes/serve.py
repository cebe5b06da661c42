"""`conductor serve`: the web process (Slack's requests), with the clock and the messenger
unless `--no-clock`. Among several such processes one leads the clock and delivers the
outbox; the others serve Slack's requests and stand by.

Slack's requests come over HTTP (`POST /slack/events`, signed) or, with `--socket`, over a
Socket Mode WebSocket the process opens itself (no public URL, no signing secret). Either way
`GET /healthz`, `GET /metrics` and `POST /webhooks/<workflow>` are served on `PORT`.

Everything that can stop the start is checked first (`bot.preflight`), before a thread or a
socket is opened, so a process either starts whole or says in one line why it cannot.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import preflight
from bot.observability.logs import configure_logging
from bot.processes.clock import lead
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.slack.socket_mode import open_socket
from bot.slack.web import wsgi_app
from bot.webhooks import webhook_app

log = logging.getLogger("conductor")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_serve(settings: Settings, *, port: int, threads: int = 8, with_clock: bool = True, socket_mode: bool = False) -> int:
    # From the first moment, SIGTERM stops like Ctrl-C (leave the loop, then close), also
    # while the runtime is still being built.
    signal.signal(signal.SIGTERM, _interrupt)
    configure_logging(settings)
    app_token = preflight.check_socket_mode(settings) if socket_mode else None
    if not socket_mode:
        preflight.check_http_mode(settings)
    preflight.ensure_schema(settings.database_url)
    catalog = preflight.load_workflows(settings.workflows_dir)
    client = make_client(settings)
    bot = preflight.check_bot_token(settings, client, required=True)
    preflight.check_port_free(port)
    if bot is not None:
        log.info("connected to Slack as @%s (%s) in %s", bot["user"], bot["user_id"], bot["team"])

    runtime = build_runtime(settings, catalog=catalog)
    stop = threading.Event()
    lost = threading.Event()
    leader = None
    socket: Any = None
    try:
        app = build_app(runtime, client, socket_mode=socket_mode)
        health = _always_healthy
        if app_token is not None:
            try:
                socket = open_socket(app, app_token)
            except (SlackApiError, OSError) as error:
                raise preflight.socket_mode_refused(error) from error
            health = socket.client.is_connected
        from waitress import create_server

        application = wsgi_app(None if socket_mode else app, health, database=runtime.engine,
                               webhooks=webhook_app(runtime.usecases))
        try:
            server = create_server(application, host="0.0.0.0", port=port, threads=threads)
        except OSError as error:
            raise preflight.port_in_use(port, error) from error
        if with_clock:
            leader = threading.Thread(target=_lead_or_stop, args=(settings, runtime, stop, lost), name="clock-leader")
            leader.start()
        if socket_mode:
            log.info("receiving Slack over Socket Mode; serving GET /healthz, GET /metrics and "
                     "POST /webhooks/<workflow> on port %s", port)
        else:
            log.info("serving Slack on port %s (POST /slack/events, POST /webhooks/<workflow>, GET /healthz, "
                     "GET /metrics)", port)
        try:
            server.run()
        finally:
            server.close()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if socket is not None:
            socket.close()
        if leader is not None:
            leader.join(timeout=30)
        runtime.close()
    return 1 if lost.is_set() else 0


def _always_healthy() -> bool:
    return True


def _lead_or_stop(settings: Settings, runtime: Any, stop: threading.Event, lost: threading.Event) -> None:
    """Lead the clock; if this process loses the clock's lock it stops altogether (exit 1), so
    that the platform restarts it as a standby instead of leaving a web process that neither
    leads nor stands by."""
    if lead(settings, runtime, stop) != 0 and not stop.is_set():
        lost.set()
        os.kill(os.getpid(), signal.SIGTERM)
