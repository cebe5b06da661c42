"""How far `:wait` moves the rehearsal clock: a duration (`2h`, `1d3h`, `90m`) or a moment
(`until 09:00`, `until tomorrow 09:00`, `until monday 08:30`, `until 2026-03-03 17:00`,
optionally followed by a time zone), read in the acting person's time zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic_core import PydanticCustomError

from bot.definitions.values import parse_duration

DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


class WaitError(ValueError):
    """Not a duration or moment; the message shows what is."""


USAGE = "write `:wait 2h`, `:wait 1d3h`, `:wait until 09:00` or `:wait until tomorrow 09:00 Europe/Berlin`"


def wait_target(words: str, now: datetime, tz: str) -> datetime:
    """The moment `:wait <words>` moves to (UTC), never before `now`."""
    text = words.strip()
    if not text:
        raise WaitError(USAGE)
    if text.lower().startswith("until "):
        target = _moment(text[6:].split(), now, tz)
    else:
        try:
            target = now + parse_duration(text.replace(" ", ""))
        except PydanticCustomError:
            raise WaitError(f"`{text}` is not a duration: {USAGE}") from None
    if target < now:
        raise WaitError(f"that moment has passed ({target:%Y-%m-%d %H:%M} UTC); time only moves forward")
    return target


def _moment(parts: list[str], now: datetime, tz: str) -> datetime:
    if parts and "/" in parts[-1] or parts and parts[-1].upper() == "UTC":
        tz = parts.pop()
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise WaitError(f"{tz!r} is not a time zone") from None
    if not parts or not CLOCK.match(parts[-1]):
        raise WaitError(USAGE)
    hours, minutes = map(int, CLOCK.match(parts[-1]).groups())  # type: ignore[union-attr]
    if hours > 23 or minutes > 59:
        raise WaitError(f"{parts[-1]} is not a time of day")
    local_now = now.astimezone(zone)
    day_word = " ".join(parts[:-1]).lower()
    day = _day(day_word, local_now.date(), time(hours, minutes) <= local_now.time())
    return datetime.combine(day, time(hours, minutes), tzinfo=zone).astimezone(UTC)


def _day(word: str, today: date, passed_today: bool) -> date:
    if word == "":
        return today + timedelta(days=1) if passed_today else today
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word in DAYS:
        ahead = (DAYS.index(word) - today.weekday()) % 7
        return today + timedelta(days=ahead or 7)
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise WaitError(f"`{word}` is not a day: use today, tomorrow, a weekday or YYYY-MM-DD") from None
