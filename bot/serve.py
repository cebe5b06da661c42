"""`conductor serve`: the web process (Slack's requests), with the clock and the messenger
unless `--no-clock`. Among several such processes one leads the clock and delivers the
outbox; the others serve Slack's requests and stand by."""

from __future__ import annotations

import logging
import signal
import threading

from bot.observability.logs import configure_logging
from bot.runtime import build_runtime
from bot.scheduling.process import lead
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.slack.directory import SlackDirectory
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
    client = make_client(settings)
    runtime = build_runtime(settings, directory=SlackDirectory(client))
    app = build_app(runtime, client)
    stop = threading.Event()
    leader = None
    if with_clock:
        leader = threading.Thread(target=lead, args=(settings, runtime, stop), name="clock-leader")
        leader.start()
    try:
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            if settings.slack_app_token is None:
                raise SystemExit("SLACK_APP_TOKEN is needed for Socket Mode")
            SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()
        else:
            from waitress import create_server

            application = wsgi_app(app, database=runtime.engine,
                                   webhooks=webhook_app(runtime.service, runtime.versions))
            server = create_server(application, host="0.0.0.0", port=port, threads=threads)
            log.info("serving Slack on port %s (POST /slack/events, POST /webhooks/<workflow>, GET /healthz, GET /metrics)", port)
            try:
                server.run()
            finally:
                server.close()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if leader is not None:
            leader.join(timeout=30)
        runtime.close()
    return 0
