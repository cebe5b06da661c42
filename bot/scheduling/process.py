"""`conductor clock`: become the leader, run the clock, stop cleanly on a signal."""

from __future__ import annotations

import logging
import signal
import threading

from bot.runtime import build_runtime
from bot.scheduling.clock import Clock
from bot.scheduling.leader import Leadership
from bot.settings import Settings

log = logging.getLogger("conductor.clock")
STANDBY_POLL_SECONDS = 2.0


def run_clock(settings: Settings, *, workers: int = 8, stop: threading.Event | None = None) -> int:
    """Run until `stop` is set (or SIGTERM/SIGINT). Returns the process exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    leadership = Leadership(settings.database_url)
    while not leadership.try_acquire():
        log.info("another clock leads; standing by")
        if stop.wait(STANDBY_POLL_SECONDS):
            return 0
    log.info("this process is the clock")
    runtime = build_runtime(settings)
    clock = Clock(runtime.service, runtime.versions, workflows_dir=settings.workflows_dir, max_workers=workers)
    clock.start()
    status = 0
    try:
        while not stop.wait(STANDBY_POLL_SECONDS):
            if not leadership.held():
                # Fence ourselves: another clock may lead now; never fire alongside it.
                log.error("lost the clock's lock; stopping")
                status = 1
                break
    finally:
        clock.shutdown(wait=True)
        leadership.release()
        runtime.close()
    return status
