"""Turn pydantic's validation errors into `file:line:col: CODE message` problems.

Pydantic reports a location such as `('steps', 0, 'task', 'promt')`; the `task` part is the
union tag, not a key in the file, so we walk the data and keep only the parts that exist in it
to find the source position. The same walk over the model types tells which keys were allowed,
for the did-you-mean hint.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Union

from pydantic import BaseModel, Tag, ValidationError

from bot.definitions.problems import Problem
from bot.definitions.yaml_source import Path, SourceDoc

CODE_BY_TYPE: dict[str, str] = {
    "extra_forbidden": "E101",
    "missing": "E102",
    "step_kind": "E105",
    "union_tag_invalid": "E105",
    "union_tag_not_found": "E105",
    "duration": "E106",
    "cron": "E107",
    "timezone": "E108",
    "time_of_day": "E109",
    "exactly_one_runner": "E110",
    "shell_string": "E111",
    "uses_ref": "E112",
    "slack_id": "E113",
}
_TYPE_NAMES = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "yes or no (true/false)",
    "bool_parsing": "yes or no (true/false)",
    "list_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text `{value}`" if len(value) < 40 else "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def data_path(data: Any, loc: tuple[Any, ...]) -> tuple[Path, bool]:
    """The part of `loc` that exists in `data`, and whether its last part did.

    Parts that are not in the data are union tags (skipped) or missing keys (the path stops
    at their parent)."""
    path: list[str | int] = []
    current = data
    found_last = True
    for part in loc:
        if part == "[key]":
            continue
        if _holds(current, part):
            current = current[part]
            path.append(part)
            found_last = True
        else:
            found_last = False
    return tuple(path), found_last


def _holds(container: Any, part: Any) -> bool:
    """Whether the data has `container[part]`: a key of a mapping, or an index of a list."""
    if isinstance(container, dict):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class whose keys are checked at `loc` (tags included in `loc`)."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if origin in (Union, types.UnionType):
            members = typing.get_args(current)
            chosen = None
            for member in members:
                tags = [m for m in getattr(member, "__metadata__", ()) if isinstance(m, Tag)]
                if tags and tags[0].tag == part:
                    chosen = member
            if chosen is None:
                # Optional[...] and friends: take the first model-ish member, keep `part`.
                non_none = [m for m in members if m is not type(None)]
                if len(non_none) != 1:
                    return None
                current = non_none[0]
                current = _step(current, part)
                if current is None:
                    return None
                continue
            current = chosen
            continue
        current = _step(current, part)
        if current is None:
            return None
    current = _unwrap(current)
    non_none = [m for m in typing.get_args(current) if m is not type(None)]
    if len(non_none) == 1:
        current = _unwrap(non_none[0])
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _step(current: Any, part: Any) -> Any:
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        for name, info in current.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    origin = typing.get_origin(current)
    if origin is list and isinstance(part, int):
        return typing.get_args(current)[0]
    if origin is dict:
        return typing.get_args(current)[1]
    return None


def allowed_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    model = _model_at(root, loc)
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.7)
    return f" (did you mean `{close[0]}`?)" if close else ""


def problems_from_validation(
    doc: SourceDoc, error: ValidationError, root: type[BaseModel]
) -> list[Problem]:
    """Every pydantic error as a positioned problem, in source order."""
    problems: list[Problem] = []
    seen: set[tuple[int, int, str]] = set()
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        path, _ = data_path(doc.data, loc)
        raw = err.get("input")
        if kind in ("step_kind", "union_tag_invalid") and isinstance(raw, dict) and isinstance(raw.get("kind"), str):
            path = path + ("kind",)  # point at the unknown kind, not the whole step
        is_key = "[key]" in loc or kind == "extra_forbidden"
        code, message = _code_and_message(root, err, loc)
        line, col = doc.locate(path, key=is_key)
        if (line, col, code) in seen:
            continue  # a union reports one mistake once per member; say it once
        seen.add((line, col, code))
        problems.append(Problem(doc.path, line, col, code, message))
    return sorted(problems)


def _code_and_message(root: type[BaseModel], err: Any, loc: tuple[Any, ...]) -> tuple[str, str]:
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        key = loc[-1]
        hint = did_you_mean(key, allowed_keys(root, loc[:-1]))
        return "E101", f"unknown key `{key}`{hint}"
    if kind == "missing":
        return "E102", f"missing required key `{loc[-1]}`"
    if kind in ("step_kind", "union_tag_invalid", "union_tag_not_found"):
        raw = value if isinstance(value, dict) else {}
        if isinstance(raw.get("kind"), str):
            kinds = ["task", "approval", "standup", "automation", "gate"]
            return "E105", (
                f"unknown step kind `{raw['kind']}`: use one of {', '.join(kinds)}"
                + did_you_mean(raw["kind"], kinds)
            )
        return "E105", err["msg"]
    if kind in CODE_BY_TYPE:
        return CODE_BY_TYPE[kind], err["msg"]
    if kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",") if c.strip(" '")]
        return "E104", (
            f"{_describe(value)} is not allowed here: expected {expected}"
            + (did_you_mean(value, choices) if isinstance(value, str) else "")
        )
    if kind in _TYPE_NAMES:
        return "E103", f"expected {_TYPE_NAMES[kind]}, got {_describe(value)}"
    if kind in ("string_pattern_mismatch", "identifier", "slug"):
        return "E104", err["msg"] if kind != "string_pattern_mismatch" else f"{_describe(value)} does not match the required form"
    if kind.startswith("too_short") or kind == "too_short":
        return "E104", f"needs at least {(err.get('ctx') or {}).get('min_length', 1)} item(s)"
    return "E104", err["msg"][0].lower() + err["msg"][1:] if err["msg"] else kind
