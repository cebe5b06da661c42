"""Waiting in tests for work done on other threads or processes: poll until it shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(probe: Callable[[], Any], timeout: float = 10.0, explain: Callable[[], Any] | None = None) -> Any:
    """Call `probe` until it gives something truthy, and return that; fail after `timeout`
    seconds, saying what `explain()` says."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; {explain() if explain else ''}")
        time.sleep(0.02)
