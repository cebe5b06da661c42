"""When a stand-up happens for each person: the day, working days and holidays, and each
participant's answer window in their own time zone (pure; time zones through the directory)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.definitions.steps import StandupStep

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Window:
    user: str
    zone: str
    opens: datetime  # aware, UTC
    closes: datetime


def standup_day(now: datetime, workflow_zone: str) -> date:
    """The stand-up's calendar day: today where the workflow lives."""
    return now.astimezone(ZoneInfo(workflow_zone)).date()


def holiday_name(step: StandupStep, day: date) -> str | None:
    """The holiday on `day` in the step's calendar (`US`, `DE-BY`), if any."""
    if not step.holidays:
        return None
    import holidays

    country, _, subdivision = step.holidays.partition("-")
    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision or None, years=day.year)
    except (NotImplementedError, KeyError):
        return None
    return calendar.get(day)


def skip_reason(step: StandupStep, day: date) -> str | None:
    """Why there is no stand-up on `day`, or None when there is one."""
    if WEEKDAYS[day.weekday()] not in step.working_days:
        return f"{day:%A} is not a working day"
    holiday = holiday_name(step, day)
    return f"{day.isoformat()} is a holiday ({holiday})" if holiday else None


def _zone(name: str | None, fallback: str) -> str:
    if name:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback


def window_for(step: StandupStep, user: str, day: date, user_zone: str | None, workflow_zone: str) -> Window:
    """The user's window on `day`: `opens`..`closes` on their own clock (or the fixed zone)."""
    zone = _zone(user_zone, workflow_zone) if step.window.timezone == "participant" else step.window.timezone
    tz = ZoneInfo(zone)
    opens = datetime.combine(day, step.window.opens, tzinfo=tz).astimezone(ZoneInfo("UTC"))
    closes = datetime.combine(day, step.window.closes, tzinfo=tz).astimezone(ZoneInfo("UTC"))
    if closes <= opens:  # a window that runs past midnight closes the next day
        closes += timedelta(days=1)
    return Window(user, zone, opens, closes)
