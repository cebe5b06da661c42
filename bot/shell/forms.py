"""Filling a Slack modal in the terminal, one field at a time.

Each typed line answers the current field and becomes the value Slack's client would put in
`view.state.values`. What Slack's client itself refuses (a required field left empty, a word in
a number field, a malformed URL or date, an option that does not exist) is refused here the
same way, before anything is sent; the rest is for the app to judge, as in Slack.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.shell.render import Names, Style, field_line, text_of

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NEWLINE = "\\n"  # typed between the lines of a multi-line answer


@dataclass
class FieldAnswerError(ValueError):
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class Lookup:
    """What typed names stand for: `user("@maria") -> "U123"`, `channel("#content") -> "C123"`,
    and the person's time zone for dates and times."""

    user: Callable[[str], str]
    channel: Callable[[str], str]
    tz: str


@dataclass
class FormFill:
    view: dict[str, Any]
    inputs: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[int] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(cls, view: dict[str, Any]) -> FormFill:
        inputs = [b for b in view.get("blocks") or [] if b.get("type") == "input"]
        return cls(view, inputs, {}, list(range(len(inputs))))

    @property
    def submittable(self) -> bool:
        return bool(self.view.get("submit")) or bool(self.inputs)

    @property
    def done(self) -> bool:
        return not self.pending

    def current(self) -> dict[str, Any]:
        return self.inputs[self.pending[0]]

    def prompt_lines(self, names: Names, style: Style) -> list[str]:
        """The current field: label, hint, the app's complaint if any, and choices."""
        block = self.current()
        lines = [field_line(block, names, style)]
        complaint = self.errors.get(block.get("block_id", ""))
        if complaint:
            lines.append(style.error(f"  ! {complaint}"))
        element = block.get("element") or {}
        for n, option in enumerate(_choices(element), 1):
            lines.append(f"    {n}. {text_of(option.get('text'), names, style)}")
        help_text = _how_to_answer(element)
        if help_text:
            lines.append(style.dim(f"  ({help_text})"))
        return lines

    def answer(self, typed: str, lookup: Lookup) -> None:
        """Take the typed answer for the current field or raise FieldAnswerError."""
        block = self.current()
        element = block.get("element") or {}
        entry = element_value(element, typed.strip(), lookup, optional=bool(block.get("optional")))
        self.values[block["block_id"]] = {element.get("action_id", "value"): entry}
        self.errors.pop(block["block_id"], None)
        self.pending.pop(0)

    def refused(self, errors: dict[str, str]) -> None:
        """The app refused some fields (`response_action: errors`): ask them again."""
        self.errors = dict(errors)
        order = [b.get("block_id") for b in self.inputs]
        self.pending = [order.index(block_id) for block_id in errors if block_id in order]
        if not self.pending:  # the app named no field we know: ask everything again
            self.pending = list(range(len(self.inputs)))


def _choices(element: dict[str, Any]) -> list[dict[str, Any]]:
    if element.get("type") in ("static_select", "multi_static_select", "radio_buttons"):
        return list(element.get("options") or [])
    return []


def _how_to_answer(element: dict[str, Any]) -> str:
    kind = element.get("type")
    return {
        "static_select": "type a number or the option",
        "radio_buttons": "type a number or the option",
        "multi_static_select": "numbers or options, separated by commas",
        "users_select": "@name",
        "multi_users_select": "@names, separated by commas",
        "conversations_select": "#channel",
        "multi_conversations_select": "#channels, separated by commas",
        "checkboxes": "yes or no",
        "datepicker": "YYYY-MM-DD",
        "datetimepicker": "YYYY-MM-DD HH:MM",
        "number_input": "a number",
        "url_text_input": "https://…",
    }.get(kind or "", "several lines: type \\n between them" if element.get("multiline") else "")


def _pick(element: dict[str, Any], typed: str) -> dict[str, Any]:
    options = _choices(element)
    if typed.isdigit() and 1 <= int(typed) <= len(options):
        return options[int(typed) - 1]
    for option in options:
        if typed.lower() in (str(option.get("value", "")).lower(), str(option["text"].get("text", "")).lower()):
            return option
    raise FieldAnswerError(f"choose one of 1–{len(options)}")


def _many(typed: str) -> list[str]:
    return [part.strip() for part in typed.split(",") if part.strip()]


def element_value(element: dict[str, Any], typed: str, lookup: Lookup, *, optional: bool) -> dict[str, Any]:
    """Slack's state entry for one element given what was typed."""
    kind = element.get("type", "plain_text_input")
    if not typed and kind != "checkboxes":
        if not optional:
            raise FieldAnswerError("this field is required")
        return _empty(kind)
    if kind in ("static_select", "radio_buttons"):
        return {"type": kind, "selected_option": _pick(element, typed)}
    if kind == "multi_static_select":
        return {"type": kind, "selected_options": [_pick(element, part) for part in _many(typed)]}
    if kind == "checkboxes":
        yes = typed.lower() in ("y", "yes", "true", "1", "x")
        if not yes and typed and typed.lower() not in ("n", "no", "false", "0"):
            raise FieldAnswerError("answer yes or no")
        return {"type": kind, "selected_options": list(element.get("options") or [])[:1] if yes else []}
    if kind == "users_select":
        return {"type": kind, "selected_user": _named(lookup.user, typed)}
    if kind == "multi_users_select":
        return {"type": kind, "selected_users": [_named(lookup.user, part) for part in _many(typed)]}
    if kind == "conversations_select":
        return {"type": kind, "selected_conversation": _named(lookup.channel, typed)}
    if kind == "multi_conversations_select":
        return {"type": kind, "selected_conversations": [_named(lookup.channel, part) for part in _many(typed)]}
    if kind == "datepicker":
        if not DATE.match(typed):
            raise FieldAnswerError("type a date as YYYY-MM-DD")
        return {"type": kind, "selected_date": typed}
    if kind == "datetimepicker":
        try:
            moment = datetime.fromisoformat(typed).replace(tzinfo=ZoneInfo(lookup.tz))
        except ValueError:
            raise FieldAnswerError("type a date and time as YYYY-MM-DD HH:MM") from None
        return {"type": kind, "selected_date_time": int(moment.timestamp())}
    if kind == "number_input":
        _check_number(element, typed)
        return {"type": kind, "value": typed}
    if kind == "url_text_input":
        parts = urlsplit(typed)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise FieldAnswerError("type a link starting with https://")
        return {"type": kind, "value": typed}
    text = typed.replace(NEWLINE, "\n") if element.get("multiline") else typed
    _check_length(element, text)
    return {"type": kind, "value": text}


def _named(resolve: Callable[[str], str], typed: str) -> str:
    try:
        return resolve(typed)
    except ValueError as exc:
        raise FieldAnswerError(str(exc)) from None


def _check_number(element: dict[str, Any], typed: str) -> None:
    try:
        number = float(typed)
    except ValueError:
        raise FieldAnswerError("type a number") from None
    if not element.get("is_decimal_allowed") and not number.is_integer():
        raise FieldAnswerError("type a whole number")
    low, high = element.get("min_value"), element.get("max_value")
    if low is not None and number < float(low):
        raise FieldAnswerError(f"the least allowed is {low}")
    if high is not None and number > float(high):
        raise FieldAnswerError(f"the most allowed is {high}")


def _check_length(element: dict[str, Any], text: str) -> None:
    low, high = element.get("min_length"), element.get("max_length")
    if low is not None and len(text) < int(low):
        raise FieldAnswerError(f"type at least {low} characters")
    if high is not None and len(text) > int(high):
        raise FieldAnswerError(f"type at most {high} characters")


def _empty(kind: str) -> dict[str, Any]:
    if kind in ("static_select", "radio_buttons"):
        return {"type": kind, "selected_option": None}
    if kind in ("multi_static_select", "checkboxes"):
        return {"type": kind, "selected_options": []}
    if kind in ("users_select", "conversations_select", "datepicker", "datetimepicker"):
        key = {"users_select": "selected_user", "conversations_select": "selected_conversation",
               "datepicker": "selected_date", "datetimepicker": "selected_date_time"}[kind]
        return {"type": kind, key: None}
    if kind.startswith("multi_"):
        key = "selected_users" if "users" in kind else "selected_conversations"
        return {"type": kind, key: []}
    return {"type": kind, "value": None}
