"""The final, rule-bound part of a campaign launch: a posting schedule per channel."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot.automations.context import AutomationContext, AutomationError

# Hour of day (in the workflow's time zone) each channel posts at, and its offset from launch.
CHANNEL_SLOTS = {
    "email": (time(8, 0), timedelta(days=0)),
    "blog": (time(9, 0), timedelta(days=0)),
    "social": (time(11, 0), timedelta(days=0)),
    "ads": (time(7, 0), timedelta(days=-1)),
}


def schedule_posts(ctx: AutomationContext) -> dict[str, object]:
    raw_date = ctx.params.get("launch_date")
    try:
        launch = raw_date if isinstance(raw_date, date) else date.fromisoformat(str(raw_date))
    except ValueError:
        raise AutomationError(f"launch date {raw_date!r} is not a date", retryable=False) from None
    channels = ctx.params.get("channels") or []
    if isinstance(channels, str):
        channels = [c.strip() for c in channels.split(",") if c.strip()]
    unknown = [c for c in channels if c not in CHANNEL_SLOTS]
    if unknown:
        raise AutomationError(f"no posting rule for {', '.join(unknown)}", retryable=False)
    schedule = []
    for channel in channels:
        at, offset = CHANNEL_SLOTS[channel]
        schedule.append(f"{channel} {datetime.combine(launch + offset, at).isoformat(timespec='minutes')}")
    return {"schedule": "\n".join(schedule), "posts": len(schedule)}
