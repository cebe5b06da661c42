"""Automations used by the clock tests (importable as tests.scheduling.automations)."""

from __future__ import annotations

import threading

from bot.automations.context import AutomationContext

CALLS: dict[str, list[int]] = {}


def flaky(ctx: AutomationContext) -> dict[str, object]:
    """Fails on its first try of each attempt, then succeeds."""
    calls = CALLS.setdefault(ctx.idempotency_key, [])
    calls.append(ctx.attempt)
    if len(calls) == 1:
        raise RuntimeError("the service is warming up")
    return {"tries": len(calls)}


def ledger(ctx: AutomationContext) -> dict[str, object]:
    """Records each call under its idempotency key."""
    CALLS.setdefault(ctx.idempotency_key, []).append(ctx.attempt)
    return {}


HOLD = threading.Event()  # set by a test to let `hold` return
HOLDING = threading.Event()  # set while `hold` is running


def hold(ctx: AutomationContext) -> dict[str, object]:
    """Runs until a test sets HOLD (or five minutes pass): an automation that does not end."""
    HOLDING.set()
    HOLD.wait(300)
    return {}
