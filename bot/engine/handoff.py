"""Checking a handoff: the outputs a person or an automation produced, against the fields
the step declares. Invalid data is refused field by field; nothing is half-accepted."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from bot.definitions.fields import FieldSpec, handoff_model

# Models are built once per declared field set (a workflow version's step keeps its dict).
_MODELS: dict[int, tuple[dict[str, FieldSpec], type[BaseModel]]] = {}


def _model(fields: dict[str, FieldSpec]) -> type[BaseModel]:
    cached = _MODELS.get(id(fields))
    if cached is None or cached[0] is not fields:
        cached = (fields, handoff_model("Outputs", fields))
        _MODELS[id(fields)] = cached
    return cached[1]


def check_outputs(fields: dict[str, FieldSpec], data: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """(clean JSON-ready outputs, {}) when valid, else (None, {field: why})."""
    if not isinstance(data, dict):
        return None, {"": "outputs must be a mapping of field names to values"}
    try:
        validated = _model(fields).model_validate(data)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else ""
            message = "is not a field of this step" if err["type"] == "extra_forbidden" else err["msg"]
            problems.setdefault(name, message[0].lower() + message[1:] if message else err["type"])
        return None, problems
    return validated.model_dump(mode="json"), {}


def describe_problems(problems: dict[str, str]) -> str:
    return "; ".join(f"`{name}` {why}" if name else why for name, why in problems.items())
