"""Time arithmetic of the engine: retry backoff and the next moment a clock shows a time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.definitions.steps import AutomationStep


def backoff_delay(step: AutomationStep, run_id: str, attempt: int, tries: int) -> timedelta:
    """Exponential backoff capped at `max`; jitter spreads retries but stays reproducible."""
    # Cap the exponent first: 2**(tries-1) times a day does not fit a timedelta for long.
    seconds = step.retry.backoff.total_seconds() * (2.0 ** min(tries - 1, 60))
    base = timedelta(seconds=min(seconds, step.retry.max.total_seconds()))
    if not step.retry.jitter:
        return base
    rng = random.Random(f"{run_id}:{step.id}:{attempt}:{tries}")
    return base / 2 + base * (rng.random() / 2)


def next_time_of_day(now: datetime, at: time, zone: str) -> datetime:
    """The first moment at or after `now` when the clock in `zone` shows `at`.

    Both passes of a repeated hour (clocks going back) are candidates, so the answer is never
    a moment already past; a time skipped by clocks going forward is read with the offset
    before the change, which lands just after it."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    candidates = [
        moment
        for day in (today, today + timedelta(days=1), today + timedelta(days=2))
        for fold in (0, 1)
        if (moment := datetime.combine(day, at, tzinfo=tz).replace(fold=fold).astimezone(UTC)) >= now
    ]
    return min(candidates).astimezone(now.tzinfo)
