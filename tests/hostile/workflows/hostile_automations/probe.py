"""A Python step that returns the values it was handed, in a fixed order."""

from __future__ import annotations


def echo(ctx):
    return {"seen": [str(ctx.params.get(name, "")) for name in ("title", "note", "summary")]}


def fail(ctx):
    from bot.automations.context import AutomationError

    raise AutomationError("the service said no", retryable=False)
