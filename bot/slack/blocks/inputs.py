"""Typed fields as Slack input blocks, and the values of a submitted form back as plain data.

Each field is one input block: `block_id` is the field's name, `action_id` is "value". The
element is Slack's native one for the type (number, date, user, channel, url pickers...), so
Slack checks what it can; the engine checks the rest (`pattern`, list lengths) on submit.
A list of free values (strings, numbers, dates, urls) is a multi-line text, one per line.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from bot.definitions.fields import FieldSpec
from bot.slack.blocks import kit
from bot.slack.blocks import text as t
from bot.slack.blocks.actions import VALUE
from bot.slack.blocks.kit import Block

_NO_VALUE = object()
_LONG_OPTION = "#option:"  # the value of an option whose text does not fit in a value


def field_label(name: str, spec: FieldSpec) -> str:
    return spec.label or name.replace("_", " ").capitalize()


def option_value(index: int, option: str) -> str:
    """An enum option's value: the option itself when it fits, else its position."""
    if len(option) <= t.OPTION_VALUE and not option.startswith(_LONG_OPTION):
        return option
    return f"{_LONG_OPTION}{index}"


def _options(spec: FieldSpec) -> list[dict[str, Any]]:
    return [kit.option(o, option_value(n, o)) for n, o in enumerate((spec.options or [])[: t.OPTIONS])]


def _chosen(spec: FieldSpec, values: list[Any]) -> list[dict[str, Any]]:
    wanted = {str(v) for v in values}
    return [kit.option(o, option_value(n, o)) for n, o in enumerate((spec.options or [])[: t.OPTIONS]) if o in wanted]


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _timestamp(value: Any) -> int | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())
    return None


def _length_limits(spec: FieldSpec, element: dict[str, Any]) -> None:
    if spec.min is not None and spec.min > 0:
        element["min_length"] = min(int(spec.min), t.PLAIN_TEXT_INPUT)
    if spec.max is not None and spec.max >= 1:
        element["max_length"] = min(int(spec.max), t.PLAIN_TEXT_INPUT)


def element_for(spec: FieldSpec, initial: Any = None) -> dict[str, Any]:
    """The input element for a field, preset to `initial` when given."""
    kind = spec.items if spec.type == "list" else spec.type
    many = spec.type == "list"
    element: dict[str, Any] = {"action_id": VALUE}
    has = initial is not None and initial != "" and initial != []
    if many and kind == "enum":
        element.update(type="multi_static_select", options=_options(spec), placeholder=kit.plain("Choose…"))
        if spec.max is not None and spec.max >= 1:
            element["max_selected_items"] = int(spec.max)
        if has and _chosen(spec, list(initial)):
            element["initial_options"] = _chosen(spec, list(initial))
    elif many and kind == "user":
        element.update(type="multi_users_select", placeholder=kit.plain("Choose people…"))
        if spec.max is not None and spec.max >= 1:
            element["max_selected_items"] = int(spec.max)
        if has:
            element["initial_users"] = [str(u) for u in initial]
    elif many and kind == "channel":
        element.update(type="multi_conversations_select", placeholder=kit.plain("Choose channels…"),
                       filter={"include": ["public", "private"]})
        if has:
            element["initial_conversations"] = [str(c) for c in initial if not str(c).startswith("#")]
    elif many:
        element.update(type="plain_text_input", multiline=True, placeholder=kit.plain("One per line"))
        if has:
            element["initial_value"] = "\n".join(t.display(v) for v in initial)
    elif kind in ("string", "text"):
        element.update(type="plain_text_input")
        if kind == "text":
            element["multiline"] = True
        _length_limits(spec, element)
        if has:
            element["initial_value"] = str(initial)
    elif kind in ("number", "integer"):
        element.update(type="number_input", is_decimal_allowed=kind == "number")
        if spec.min is not None:
            element["min_value"] = _number_text(spec.min if kind == "number" else math.ceil(spec.min))
        if spec.max is not None:
            element["max_value"] = _number_text(spec.max if kind == "number" else math.floor(spec.max))
        if has:
            element["initial_value"] = _number_text(initial)
    elif kind == "boolean":
        yes = kit.option("Yes", "true")
        element.update(type="checkboxes", options=[yes])
        if initial is True:
            element["initial_options"] = [yes]
    elif kind == "date":
        element.update(type="datepicker")
        if has:
            element["initial_date"] = (initial.isoformat() if isinstance(initial, date) else str(initial))[:10]
    elif kind == "datetime":
        element.update(type="datetimepicker")
        if has and _timestamp(initial) is not None:
            element["initial_date_time"] = _timestamp(initial)
    elif kind == "enum":
        element.update(type="static_select", options=_options(spec), placeholder=kit.plain("Choose…"))
        if has and _chosen(spec, [initial]):
            element["initial_option"] = _chosen(spec, [initial])[0]
    elif kind == "user":
        element.update(type="users_select", placeholder=kit.plain("Choose a person…"))
        if has:
            element["initial_user"] = str(initial)
    elif kind == "channel":
        element.update(type="conversations_select", placeholder=kit.plain("Choose a channel…"),
                       filter={"include": ["public", "private"]})
        if has and not str(initial).startswith("#"):
            element["initial_conversation"] = str(initial)
    elif kind == "url":
        element.update(type="url_text_input", placeholder=kit.plain("https://…"))
        if has:
            element["initial_value"] = str(initial)
    else:  # pragma: no cover - FieldSpec allows no other type
        raise ValueError(f"no input for a `{kind}` field")
    return element


def input_block(name: str, spec: FieldSpec, initial: Any = _NO_VALUE) -> Block:
    """One input block for field `name`; `initial` defaults to the field's `default`."""
    value = spec.default if initial is _NO_VALUE else initial
    block: Block = {
        "type": "input", "block_id": name,
        "label": kit.plain(field_label(name, spec), t.INPUT_LABEL),
        "element": element_for(spec, value),
    }
    # A checkbox left empty is an answer (no); a required one could never say no.
    if not spec.is_required or spec.type == "boolean":
        block["optional"] = True
    hint = spec.help or ""
    if spec.type == "list" and block["element"]["type"] == "plain_text_input":
        hint = (hint + " " if hint else "") + "One per line."
    if hint:
        block["hint"] = kit.plain(hint, t.INPUT_HINT)
    return block


# --- reading a submitted form -------------------------------------------------------------------
# Slack sends these shapes; a submission is still read as untrusted data: a value of another
# type is left out (as if not given), never passed on, so the engine only sees what a form can
# hold (text, numbers, option texts, IDs, booleans, lists of those).
def _number(text: str, integer: bool) -> Any:
    cleaned = text.strip()
    try:
        return int(cleaned)  # also refuses digits beyond Python's limit for int("…")
    except ValueError:
        pass
    try:
        number = float(cleaned)
    except ValueError:
        return text  # the engine says what is wrong with it
    if not math.isfinite(number):
        return text  # `inf`, `nan`: not a number a person means, and not storable as JSON
    if number.is_integer() and (integer or not any(c in cleaned for c in ".eE")):
        return int(number)
    return number


def _scalar(kind: str, text: str, spec: FieldSpec) -> Any:
    if kind in ("number", "integer"):
        return _number(text, kind == "integer")
    if kind == "enum":
        return _option_of(spec, text)
    return text


def _option_of(spec: FieldSpec, value: str) -> str:
    for n, option in enumerate(spec.options or []):
        if option_value(n, option) == value:
            return option
    return value


def _texts(items: Any) -> list[str]:
    """The strings of a list (others dropped); anything but a list is no strings."""
    return [item for item in items if isinstance(item, str)] if isinstance(items, list) else []


def _option_values(options: Any) -> list[str]:
    """The `value`s of a list of Slack options."""
    if not isinstance(options, list):
        return []
    return _texts([o.get("value") for o in options if isinstance(o, dict)])


def _datetime(timestamp: Any) -> str | object:
    try:
        return datetime.fromtimestamp(int(timestamp), tz=UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return _NO_VALUE


_SELECTED = {"users_select": "selected_user", "conversations_select": "selected_conversation",
             "channels_select": "selected_channel", "datepicker": "selected_date"}
_SELECTED_MANY = {"multi_users_select": "selected_users", "multi_conversations_select": "selected_conversations",
                  "multi_channels_select": "selected_channels"}


def parse_value(spec: FieldSpec, entry: dict[str, Any]) -> Any:
    """One field's value from its entry in `view.state.values`; `_NO_VALUE` when left empty
    (or holding nothing a form can hold)."""
    kind = spec.items if spec.type == "list" else spec.type
    etype = entry.get("type") if isinstance(entry.get("type"), str) else None
    if etype == "checkboxes":
        chosen = _option_values(entry.get("selected_options"))
        return bool(chosen) if spec.type == "boolean" else [_option_of(spec, v) for v in chosen] or _NO_VALUE
    if etype in ("static_select", "radio_buttons"):
        selected = _option_values([entry.get("selected_option")])
        if not selected:
            return _NO_VALUE
        return selected[0] in ("yes", "true") if spec.type == "boolean" else _option_of(spec, selected[0])
    if etype == "multi_static_select":
        return [_option_of(spec, v) for v in _option_values(entry.get("selected_options"))] or _NO_VALUE
    if etype in _SELECTED:
        found = entry.get(_SELECTED[etype])
        return found if isinstance(found, str) and found else _NO_VALUE
    if etype in _SELECTED_MANY:
        return _texts(entry.get(_SELECTED_MANY[etype])) or _NO_VALUE
    if etype == "datetimepicker":
        stamp = entry.get("selected_date_time")
        return _datetime(stamp) if isinstance(stamp, (int, str)) and not isinstance(stamp, bool) else _NO_VALUE
    text = entry.get("value")
    if not isinstance(text, str) or not text.strip():
        return _NO_VALUE
    if spec.type == "list":
        return [_scalar(kind or "string", line.strip(), spec) for line in text.splitlines() if line.strip()]
    return _scalar(kind, text, spec)


def parse_form_values(view_state_values: Any, fields: dict[str, FieldSpec]) -> dict[str, Any]:
    """`view.state.values` of a submitted form as plain values, one per field that has one:
    text as typed, numbers as numbers, options as their text, dates as `YYYY-MM-DD`,
    datetimes as ISO 8601 (UTC), people and channels as IDs, checkboxes as booleans, lists as
    lists. Fields left empty are left out, so defaults apply; a checkbox is always an answer."""
    values: dict[str, Any] = {}
    if not isinstance(view_state_values, dict):
        return values
    for name, spec in fields.items():
        block = view_state_values.get(name)
        if not isinstance(block, dict):
            continue
        entry = block.get(VALUE) or next(iter(block.values()), None)
        if not isinstance(entry, dict):
            continue
        value = parse_value(spec, entry)
        if value is not _NO_VALUE:
            values[name] = value
    return values
