"""Automations used by the clock tests (importable as tests.scheduling.automations).

Each try of a Python automation runs in a child process of its own, so what these record and
wait for goes through files in a folder both sides know (`CONDUCTOR_TEST_SIGNALS`, made when
the test process first imports this module and inherited by every child), not through
memory."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bot.automations.context import AutomationContext

SIGNALS = Path(os.environ.setdefault("CONDUCTOR_TEST_SIGNALS", tempfile.mkdtemp(prefix="conductor-signals-")))


class Calls:
    """The attempts each idempotency key was called with, one line per call."""

    def _file(self, key: str) -> Path:
        folder = SIGNALS / "calls"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / key.replace("/", "_").replace(":", "_")

    def record(self, key: str, attempt: int) -> list[int]:
        with self._file(key).open("a", encoding="utf-8") as handle:
            handle.write(f"{attempt}\n")
        return self[key]

    def __getitem__(self, key: str) -> list[int]:
        path = self._file(key)
        if not path.exists():
            raise KeyError(key)
        return [int(line) for line in path.read_text(encoding="utf-8").split()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._file(key).exists()


class Flag:
    """A threading.Event's calls, kept as a file so a child process and the test share it."""

    def __init__(self, name: str):
        self.path = SIGNALS / f"{name}.flag"

    def set(self) -> None:
        SIGNALS.mkdir(parents=True, exist_ok=True)
        self.path.touch()

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_set(self) -> bool:
        return self.path.exists()

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


CALLS = Calls()
HOLD = Flag("hold")  # set by a test to let `hold` return
HOLDING = Flag("holding")  # set while `hold` is running


def flaky(ctx: AutomationContext) -> dict[str, object]:
    """Fails on its first try of each attempt, then succeeds."""
    calls = CALLS.record(ctx.idempotency_key, ctx.attempt)
    if len(calls) == 1:
        raise RuntimeError("the service is warming up")
    return {"tries": len(calls)}


def ledger(ctx: AutomationContext) -> dict[str, object]:
    """Records each call under its idempotency key."""
    CALLS.record(ctx.idempotency_key, ctx.attempt)
    return {}


def hold(ctx: AutomationContext) -> dict[str, object]:
    """Runs until a test sets HOLD (or five minutes pass): an automation that does not end."""
    HOLDING.set()
    HOLD.wait(300)
    return {}
