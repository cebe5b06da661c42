"""Calling a function with a deadline, in a worker thread that is abandoned when it overruns.

Python cannot stop a thread from outside. A call that overruns keeps running in its daemon
thread until it returns on its own; its result is then dropped here and never reported. The
engine on its side ignores results of tries older than the current one (it guards automation
results by try number), so a late answer could not change a run even if it were delivered.

Because the abandoned work goes on, the HTTP runner's exchange, which uses it, may still
reach the server after its timeout: that is what the idempotency key it sends is for. Python
automations do not run here any more: each try runs in a child process that is killed at its
timeout (`python_runner`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Finished(Generic[T]):
    """What a call came to: a value, or the exception it raised (any `BaseException`)."""

    value: T | None = None
    error: BaseException | None = None


def call_with_deadline(function: Callable[[], T], timeout: float, *, name: str = "automation") -> Finished[T] | None:
    """Run `function()` in a daemon thread; `None` if it has not finished after `timeout` seconds."""
    box: list[Finished[T]] = []

    def work() -> None:
        try:
            box.append(Finished(value=function()))
        except BaseException as exc:  # noqa: BLE001 - reported to the caller, never lost
            box.append(Finished(error=exc))

    thread = threading.Thread(target=work, name=f"conductor-{name}", daemon=True)
    thread.start()
    thread.join(max(timeout, 0.0))
    if thread.is_alive():
        return None  # abandoned: whatever it appends later is never read
    return box[0] if box else Finished(error=RuntimeError("the call ended without a result"))


def describe_error(exc: BaseException) -> str:
    """`ValueError: bad input`; just the type when the message is empty."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["Finished", "call_with_deadline", "describe_error"]
