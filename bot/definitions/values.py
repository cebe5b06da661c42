"""Small value types of the language: ids, durations, times of day, time zones, cron, Slack ids.

Each is an `Annotated` type whose validator raises a `PydanticCustomError` with its own error
type, so the loader can give each mistake its own code (see `pydantic_errors.CODE_BY_TYPE`).
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]*$"
SLUG_PATTERN = r"^[a-z][a-z0-9_-]*$"
_DURATION_PART = re.compile(r"(\d+)\s*(w|d|h|m|s)")
DURATION_PATTERN = r"^\s*(\d+\s*[wdhms]\s*)+$"
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
SECRET_REF = re.compile(r"\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Slack ids: users U/W, user groups S, channels C/G/D.
SLACK_USER_OR_GROUP = re.compile(r"^[UWS][A-Z0-9]{2,}$")
SLACK_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{2,})$")


# YAML 1.2 reads `yes`/`no` as text; the language accepts them (and true/false) as flags.
_FLAG_WORDS = {"yes": True, "no": False, "true": True, "false": False}


def _flag(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in _FLAG_WORDS:
        return _FLAG_WORDS[value.lower()]
    if not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "expected yes or no", {})
    return value


Flag = Annotated[
    bool,
    BeforeValidator(_flag),
    WithJsonSchema({"anyOf": [{"type": "boolean"}, {"enum": ["yes", "no", "Yes", "No", "YES", "NO"]}]}),
]


def _identifier(value: str) -> str:
    if not re.match(IDENTIFIER_PATTERN, value):
        raise PydanticCustomError(
            "identifier",
            "`{value}` is not a valid name: use lower-case letters, digits and underscores, "
            "starting with a letter (templates refer to it as a name)",
            {"value": value},
        )
    return value


def _slug(value: str) -> str:
    if not re.match(SLUG_PATTERN, value):
        raise PydanticCustomError(
            "slug",
            "`{value}` is not a valid id: use lower-case letters, digits, `-` and `_`, "
            "starting with a letter",
            {"value": value},
        )
    return value


Identifier = Annotated[str, AfterValidator(_identifier), WithJsonSchema({"type": "string", "pattern": IDENTIFIER_PATTERN})]
Slug = Annotated[str, AfterValidator(_slug), WithJsonSchema({"type": "string", "pattern": SLUG_PATTERN})]


def parse_duration(value: Any) -> timedelta:
    """`90s`, `15m`, `4h`, `1d`, `2w` or combinations such as `1h30m`."""
    if isinstance(value, timedelta):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text is None or not re.match(DURATION_PATTERN, text):
        raise PydanticCustomError(
            "duration",
            "`{value}` is not a duration: write a number and a unit, such as `30m`, `4h`, "
            "`1d` or `1h30m` (units: w, d, h, m, s)",
            {"value": value},
        )
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))
    if seconds <= 0:
        raise PydanticCustomError("duration", "a duration must be longer than zero", {})
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest text `parse_duration` reads back as `delta`."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["30m", "4h", "1d"]}),
]


def _duration_list(value: Any) -> Any:
    return [value] if isinstance(value, (str, int)) else value


DurationList = Annotated[
    list[Duration],
    BeforeValidator(_duration_list),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": DURATION_PATTERN},
                {"type": "array", "items": {"type": "string", "pattern": DURATION_PATTERN}},
            ]
        }
    ),
]


def parse_time_of_day(value: Any) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not re.match(TIME_PATTERN, value.strip()):
        raise PydanticCustomError(
            "time_of_day",
            "`{value}` is not a time of day: write HH:MM on a 24-hour clock, such as `09:30` or `17:45`",
            {"value": value},
        )
    hours, minutes = value.strip().split(":")
    return time(int(hours), int(minutes))


TimeOfDay = Annotated[
    time,
    BeforeValidator(parse_time_of_day),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN}),
]


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise PydanticCustomError(
            "timezone",
            "`{value}` is not a time zone: use an IANA name such as `Europe/Berlin` or `UTC`",
            {"value": value},
        ) from None
    return value


TimeZoneName = Annotated[str, AfterValidator(check_timezone), WithJsonSchema({"type": "string", "examples": ["UTC", "Europe/Berlin", "America/New_York"]})]


def check_cron(value: str) -> str:
    """Five-field crontab (`minute hour day month weekday`), as APScheduler reads it."""
    from apscheduler.triggers.cron import CronTrigger

    if len(value.split()) != 5:
        raise PydanticCustomError(
            "cron",
            "`{value}` is not a cron expression: it needs 5 fields "
            "(minute hour day-of-month month day-of-week), e.g. `0 9 * * mon-fri`",
            {"value": value},
        )
    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise PydanticCustomError(
            "cron", "`{value}` is not a valid cron expression: {reason}", {"value": value, "reason": str(exc)}
        ) from None
    return value


CronExpression = Annotated[str, AfterValidator(check_cron), WithJsonSchema({"type": "string", "examples": ["0 9 * * mon-fri"]})]


def _slack_principal(value: str) -> str:
    if not SLACK_USER_OR_GROUP.match(value):
        raise PydanticCustomError(
            "slack_id",
            "`{value}` is not a Slack user ID (U…/W…) or user-group ID (S…); "
            "copy it from the member's or group's profile",
            {"value": value},
        )
    return value


SlackPrincipal = Annotated[str, AfterValidator(_slack_principal), WithJsonSchema({"type": "string", "pattern": SLACK_USER_OR_GROUP.pattern})]


def _slack_channel(value: str) -> str:
    if not SLACK_CHANNEL.match(value):
        raise PydanticCustomError(
            "slack_id",
            "`{value}` is not a Slack channel: write `#name` (lower case) or a channel ID (C…)",
            {"value": value},
        )
    return value


SlackChannel = Annotated[str, AfterValidator(_slack_channel), WithJsonSchema({"type": "string", "pattern": SLACK_CHANNEL.pattern})]


def as_list(value: Any) -> Any:
    """Let a single value stand for a one-element list (`needs: brief`)."""
    return [value] if isinstance(value, str) else value


def one_or_many(item_schema: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [item_schema, {"type": "array", "items": item_schema}]})


NameList = Annotated[list[str], BeforeValidator(as_list), one_or_many({"type": "string"})]


def secret_names(text: str) -> list[str]:
    """Names of `${{ secrets.NAME }}` references in a string."""
    return SECRET_REF.findall(text)


def _secret_ref(value: str) -> str:
    if not SECRET_REF.fullmatch(value.strip()):
        raise PydanticCustomError(
            "secret_ref",
            "write the secret as `${{ secrets.NAME }}` so that its value stays out of the file",
            {},
        )
    return value


SecretRef = Annotated[str, AfterValidator(_secret_ref), WithJsonSchema({"type": "string", "pattern": SECRET_REF.pattern})]
