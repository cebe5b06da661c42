"""`conductor clock`: become the leader, run the clock, stop cleanly on a signal."""

from __future__ import annotations

import logging
import signal
import threading

from bot.observability.logs import configure_logging
from bot.observability.metrics import serve_metrics
from bot.runtime import Runtime, build_runtime
from bot.scheduling.clock import Clock
from bot.scheduling.leader import Leadership
from bot.settings import Settings

log = logging.getLogger("conductor.clock")
STANDBY_POLL_SECONDS = 2.0


def start_messenger(settings: Settings, runtime, stop: threading.Event) -> threading.Thread | None:
    """The leading clock also delivers the outbox to Slack (one sender keeps channel order)."""
    if settings.slack_bot_token is None:
        log.info("no SLACK_BOT_TOKEN: messages stay in the outbox")
        return None
    from bot.slack.blocks.outbox import render_outbox
    from bot.slack.client import make_client
    from bot.slack.messenger import Messenger

    messenger = Messenger(runtime.engine, make_client(settings), runtime.versions, render=render_outbox)
    sender = threading.Thread(target=messenger.run, args=(stop,), name="messenger", daemon=True)
    sender.start()
    return sender


def run_clock(settings: Settings, *, workers: int = 8, stop: threading.Event | None = None) -> int:
    """Run until `stop` is set (or SIGTERM/SIGINT). Returns the process exit status."""
    configure_logging(settings)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    directory = None
    if settings.slack_bot_token is not None:
        from bot.slack.client import make_client
        from bot.slack.directory import SlackDirectory

        directory = SlackDirectory(make_client(settings))
    runtime = build_runtime(settings, directory=directory)
    metrics = serve_metrics(settings.metrics_port, runtime.engine) if settings.metrics_port else None
    if metrics is not None:
        log.info("serving metrics on port %s (GET /metrics)", settings.metrics_port)
    try:
        return lead(settings, runtime, stop, workers=workers)
    finally:
        if metrics is not None:
            metrics.shutdown()
            metrics.server_close()
        runtime.close()


def lead(settings: Settings, runtime: Runtime, stop: threading.Event, *, workers: int = 8) -> int:
    """Stand by until this process may lead; then fire timers, run automations and deliver
    messages until `stop`. Returns 1 when leadership was lost (the caller should exit)."""
    leadership = Leadership(settings.database_url)
    while not leadership.try_acquire():
        log.info("another clock leads; standing by")
        if stop.wait(STANDBY_POLL_SECONDS):
            return 0
    log.info("this process is the clock")
    clock = Clock(runtime.service, runtime.versions, workflows_dir=settings.workflows_dir, max_workers=workers)
    clock.start()
    delivering = threading.Event()
    sender = start_messenger(settings, runtime, delivering)
    status = 0
    try:
        while not stop.wait(STANDBY_POLL_SECONDS):
            if not leadership.held():
                # Fence ourselves: another clock may lead now; never fire alongside it.
                log.error("lost the clock's lock; stopping")
                status = 1
                break
    finally:
        delivering.set()
        if sender is not None:
            sender.join(timeout=10)
        clock.shutdown(wait=True)
        leadership.release()
    return status
