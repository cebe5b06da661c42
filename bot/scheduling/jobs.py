"""The functions APScheduler calls. They are module-level and take only primitive arguments,
as APScheduler asks, and reach the running clock through `install`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.scheduling.clock import Clock

log = logging.getLogger("conductor.clock")
_clock: Clock | None = None


def install(clock: Clock | None) -> None:
    global _clock
    _clock = clock


def _active() -> Clock | None:
    if _clock is None:
        log.warning("a clock job ran with no clock installed")
    return _clock


def fire_timer(run_id: str, key: str) -> None:
    clock = _active()
    if clock is not None:
        clock.fire(run_id, key)


def poll() -> None:
    """The fast backstop, one tick (`bot.usecases.tick`): due timers, pending runs and
    automations asked for by any process."""
    clock = _active()
    if clock is not None:
        clock.poll()


def sweep() -> None:
    """The slow sweep: schedule what falls due soon, so timers fire on the dot."""
    clock = _active()
    if clock is not None:
        clock.sweep()


def start_scheduled_run(workflow_id: str, index: int) -> None:
    clock = _active()
    if clock is not None:
        clock.start_scheduled(workflow_id, index)
