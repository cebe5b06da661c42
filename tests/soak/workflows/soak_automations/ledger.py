"""Automations whose every call leaves one line in a ledger file (`SOAK_LEDGER`), so the soak
can count effects after the bot was killed mid-call: a line is the effect, written before the
automation returns, and a pause after it leaves room for a kill between the effect and the
engine hearing of it."""

from __future__ import annotations

import hashlib
import json
import os
import time

from bot.automations.context import AutomationContext

PAUSE_SECONDS = 0.15  # at most: the window between the effect and its result being recorded


def _digest(*parts: object) -> int:
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest(), 16)


def _write(ctx: AutomationContext, effect: str) -> None:
    line = json.dumps({"run": ctx.run_id, "step": ctx.step_id, "attempt": ctx.attempt,
                       "key": ctx.idempotency_key, "effect": effect}) + "\n"
    handle = os.open(os.environ["SOAK_LEDGER"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(handle, line.encode())  # one write of one line: appended whole
    finally:
        os.close(handle)


def _calls(ctx: AutomationContext, effect: str) -> int:
    try:
        with open(os.environ["SOAK_LEDGER"], encoding="utf-8") as ledger:
            return sum(1 for line in ledger if (entry := json.loads(line))["key"] == ctx.idempotency_key
                       and entry["effect"] == effect)
    except FileNotFoundError:
        return 0


def _apply(ctx: AutomationContext) -> None:
    _write(ctx, "applied")
    time.sleep(PAUSE_SECONDS * (_digest(ctx.idempotency_key) % 100) / 100)


def record(ctx: AutomationContext) -> dict[str, object]:
    """Not idempotent: each call is an effect of its own."""
    _apply(ctx)
    return {"entry": f"entry-{ctx.idempotency_key}"}


def sync(ctx: AutomationContext) -> dict[str, object]:
    """Idempotent: calling it again with the same key changes nothing more."""
    _apply(ctx)
    return {"synced": ctx.idempotency_key}


def publish(ctx: AutomationContext) -> dict[str, object]:
    """Fails 0, 1 or 2 times per key (by the seed and the ticket), then succeeds."""
    failures = _digest(os.environ.get("SOAK_SEED", "0"), ctx.inputs.get("ticket")) % 3
    if _calls(ctx, "failed") < failures:
        _write(ctx, "failed")
        raise RuntimeError("the publishing service is busy")
    _apply(ctx)
    return {"url": f"https://example.com/{ctx.idempotency_key}"}
