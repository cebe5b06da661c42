"""Typed fields: the inputs a run asks for and the outputs a step hands off.

A field list is the contract of a handoff. `handoff_model` turns it into a pydantic model, so
the same rules check an answer typed into a Slack form and the JSON an automation returns.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.definitions.values import SLACK_CHANNEL, SLACK_USER_OR_GROUP, Flag, Identifier

FieldType = Literal[
    "string", "text", "number", "integer", "boolean", "date", "datetime",
    "enum", "user", "channel", "url", "list",
]
ItemType = Literal["string", "number", "integer", "date", "enum", "user", "channel", "url"]
FIELD_TYPES: tuple[str, ...] = get_args(FieldType)


class FieldSpec(BaseModel):
    """One typed field. `title: string` is short for `title: {type: string}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FieldType = Field(description="What kind of value the field holds.")
    label: str | None = Field(default=None, description="What people see; defaults to the name.")
    help: str | None = Field(default=None, description="A hint shown under the field.")
    required: Flag | None = Field(
        default=None, description="Whether a value must be given (default: yes unless a default is set)."
    )
    default: Any = None
    min: float | None = Field(default=None, description="Smallest number, or shortest text/list.")
    max: float | None = Field(default=None, description="Largest number, or longest text/list.")
    pattern: str | None = Field(default=None, description="A regular expression text must match.")
    options: list[str] | None = Field(default=None, description="The choices of an `enum`.")
    items: ItemType | None = Field(default=None, description="The type of each element of a `list`.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        enum_like = self.type == "enum" or (self.type == "list" and self.items == "enum")
        if enum_like and not self.options:
            raise PydanticCustomError("field_rule", "an `enum` field needs `options`", {})
        if self.options is not None and not enum_like:
            raise PydanticCustomError("field_rule", "`options` only goes with `type: enum`", {})
        if self.items is not None and self.type != "list":
            raise PydanticCustomError("field_rule", "`items` only goes with `type: list`", {})
        if self.pattern is not None:
            if self.type not in ("string", "text"):
                raise PydanticCustomError("field_rule", "`pattern` only goes with string or text fields", {})
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise PydanticCustomError(
                    "field_rule", "`pattern` is not a valid regular expression: {reason}", {"reason": str(exc)}
                ) from None
        if (self.min is not None or self.max is not None) and self.type in (
            "boolean", "enum", "user", "channel", "date", "datetime", "url",
        ):
            raise PydanticCustomError("field_rule", "`min`/`max` do not apply to {type} fields", {"type": self.type})
        if self.min is not None and self.max is not None and self.min > self.max:
            raise PydanticCustomError("field_rule", "`min` is larger than `max`", {})
        if self.default is not None:
            problem = field_value_problem(self, self.default)
            if problem:
                raise PydanticCustomError("field_rule", "`default` {reason}", {"reason": problem})
        return self

    @property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.default is None


FieldMap = dict[Identifier, FieldSpec]


def _slack_id(kind: str, pattern: re.Pattern[str]) -> BeforeValidator:
    def check(value: Any) -> Any:
        if not isinstance(value, str) or not pattern.match(value):
            raise PydanticCustomError("slack_id", "is not a Slack {kind}", {"kind": kind})
        return value

    return BeforeValidator(check)


def _blank_is_none(value: Any) -> Any:
    # A form field left empty arrives as "" or None; both mean "no value".
    return None if value == "" or value == [] else value


def _length_limits(spec: FieldSpec) -> tuple[int | None, int | None]:
    """`min`/`max` as the shortest and longest length (of a text, or of a list)."""
    return (int(spec.min) if spec.min is not None else None,
            int(spec.max) if spec.max is not None else None)


def _scalar_type(kind: str, spec: FieldSpec) -> Any:
    """The Python type of one value of `kind`, with the field's limits."""
    # A list's `min`/`max` limit its length, not each element (None is no limit).
    own = spec.type != "list"
    min_length, max_length = _length_limits(spec) if own else (None, None)
    ge, le = (spec.min, spec.max) if own else (None, None)
    match kind:
        case "string" | "text":
            return Annotated[str, Field(pattern=spec.pattern, min_length=min_length, max_length=max_length)]
        case "number":
            # Infinity and NaN are not numbers people mean, and JSON cannot hold them.
            return Annotated[float, Field(allow_inf_nan=False, ge=ge, le=le)]
        case "integer":
            return Annotated[int, Field(strict=False, ge=ge, le=le)]
        case "boolean":
            return bool
        case "date":
            return date
        case "datetime":
            return datetime
        case "enum":
            return Literal[tuple(spec.options or ())]
        case "user":
            return Annotated[str, _slack_id("user", re.compile(r"^[UW][A-Z0-9]{2,}$"))]
        case "channel":
            return Annotated[str, _slack_id("channel", SLACK_CHANNEL)]
        case "url":
            return AnyHttpUrl
    raise AssertionError(f"unhandled field type {kind}")


def value_type(spec: FieldSpec) -> Any:
    """The annotated Python type a field's value must have."""
    if spec.type == "list":
        item: Any = _scalar_type(spec.items or "string", spec)
        min_length, max_length = _length_limits(spec)
        items: Any = list[item]
        return Annotated[items, Field(min_length=min_length, max_length=max_length)]
    return _scalar_type(spec.type, spec)


def handoff_model(name: str, fields: dict[str, FieldSpec]) -> type[BaseModel]:
    """A pydantic model that accepts exactly the declared fields, typed and limited."""
    definitions: dict[str, Any] = {}
    for field_name, spec in fields.items():
        value: Any = value_type(spec)
        annotated: Any = Annotated[value, BeforeValidator(_blank_is_none)]
        if spec.is_required:
            definitions[field_name] = (annotated, Field(title=spec.label or field_name))
        else:
            definitions[field_name] = (annotated | None, Field(default=spec.default, title=spec.label or field_name))
    return create_model(name, __config__=ConfigDict(extra="forbid"), **definitions)


def field_value_problem(spec: FieldSpec, value: Any) -> str | None:
    """Why `value` does not fit `spec`, or None when it fits."""
    model = handoff_model("Value", {"value": spec})
    try:
        model.model_validate({"value": value})
    except ValidationError as exc:
        return exc.errors()[0]["msg"].lower()
    return None


__all__ = ["FIELD_TYPES", "FieldMap", "FieldSpec", "SLACK_USER_OR_GROUP", "handoff_model", "value_type"]
