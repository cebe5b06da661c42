"""`conductor clock`: become the leader, run the clock, stop cleanly on a signal.

A stop (SIGTERM, or the lock lost) is bounded: the clock refuses new work first, then waits
for what is running (timer jobs, automations, the messenger's Slack call) for at most
STOP_GRACE_SECONDS, and the process exits after that whatever is left, saying what it left.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from bot.definitions.loader import Catalog
from bot.observability.logs import configure_logging
from bot.observability.metrics import serve_metrics
from bot.processes.people_refresh import start_people_refresh
from bot.runtime import Runtime, build_runtime
from bot.scheduling.clock import STOP_GRACE_SECONDS, Clock
from bot.scheduling.leader import Leadership
from bot.settings import Settings

log = logging.getLogger("conductor.clock")
STANDBY_POLL_SECONDS = 2.0
# How often a waiting main thread looks at `stop` (see `wait_for_stop`).
STOP_CHECK_SECONDS = 0.1


def wait_for_stop(stop: threading.Event, seconds: float) -> bool:
    """`stop.wait(seconds)` in short waits. A signal's Python handler (which sets `stop`) runs in
    the main thread between two bytecodes; a signal that comes just as the thread enters one
    long wait is handled only when that wait ends (a stop was seen 2 s late that way)."""
    deadline = time.monotonic() + seconds
    while not stop.wait(max(min(deadline - time.monotonic(), STOP_CHECK_SECONDS), 0.0)):
        if time.monotonic() >= deadline:
            return False
    return True


def start_messenger(settings: Settings, runtime, stop: threading.Event) -> threading.Thread | None:
    """The leading clock also delivers the outbox to Slack (one sender keeps channel order)."""
    if settings.slack_bot_token is None:
        log.info("no SLACK_BOT_TOKEN: messages stay in the outbox")
        return None
    from bot.slack.blocks.outbox import render_outbox
    from bot.slack.client import make_client
    from bot.slack.messenger import Messenger

    messenger = Messenger(runtime.engine, make_client(settings), runtime.versions, render=render_outbox,
                          workspace_rate=settings.slack_messages_per_second, concurrency=settings.slack_concurrency)
    sender = threading.Thread(target=messenger.run, args=(stop,), name="messenger", daemon=True)
    sender.start()
    return sender


def run_clock(settings: Settings, *, workers: int = 8, stop: threading.Event | None = None,
              catalog: Catalog | None = None) -> int:
    """Run until `stop` is set (or SIGTERM/SIGINT). Returns the process exit status."""
    configure_logging(settings)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    # People come from tables the refresher keeps (`people_refresh`); `catalog`: the workflows as
    # the start-up check loaded them.
    runtime = build_runtime(settings, catalog=catalog)
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
    messages until `stop`. Returns 1 when leadership was lost (the caller should exit).
    Returns within about STOP_GRACE_SECONDS of `stop` being set, whatever the clock is doing."""
    if stop.is_set():
        return 0  # stopped while starting: never lead
    leadership = Leadership(settings.database_url)
    standing_by = False
    while not leadership.try_acquire():
        # One line when this process starts waiting, not one per poll.
        log.log(logging.DEBUG if standing_by else logging.INFO, "another clock leads; standing by")
        standing_by = True
        if wait_for_stop(stop, STANDBY_POLL_SECONDS):
            return 0
    if stop.is_set():
        leadership.release()
        return 0
    log.info("this process is the clock")
    clock = Clock(runtime.service, runtime.versions, workflows_dir=settings.workflows_dir, max_workers=workers)
    delivering = threading.Event()
    sender = None
    status = 0
    try:
        clock.start()
        sender = start_messenger(settings, runtime, delivering)
        start_people_refresh(settings, runtime, delivering)  # a daemon: stops with the messenger, never waited for
        while not wait_for_stop(stop, STANDBY_POLL_SECONDS):
            if not leadership.held():
                # Fence ourselves: another clock may lead now; never fire alongside it.
                log.error("lost the clock's lock; stopping")
                status = 1
                break
    finally:
        started = time.monotonic()
        stop_leading(clock, delivering, sender, STOP_GRACE_SECONDS)
        leadership.release()
        if status == 0:
            log.info("the clock stopped in %.1f s; another process may lead now", time.monotonic() - started)
    return status


def stop_leading(clock: Clock, delivering: threading.Event, sender: threading.Thread | None,
                 grace: float = STOP_GRACE_SECONDS) -> list[str]:
    """End the clock's work within `grace` seconds: no new jobs, no new automations, no new
    Slack calls; then wait for the running ones until the deadline. Returns (and logs) what
    was still running then: it is left to end with the process."""
    deadline = time.monotonic() + grace
    delivering.set()
    clock.close(deadline)
    left = clock.wait_idle(deadline)
    if sender is not None:
        sender.join(max(deadline - time.monotonic(), 0.0))
        if sender.is_alive():
            left.append("the messenger (a Slack call)")
    if left:
        log.warning("stopped without waiting any longer (%g s) for: %s", grace, "; ".join(left))
    return left
