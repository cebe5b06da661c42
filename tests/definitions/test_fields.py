"""Handoff contracts: a step's declared outputs become a model that checks any answer."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from bot.definitions.fields import FieldSpec, handoff_model


def model(**fields):
    return handoff_model("Handoff", {k: FieldSpec.model_validate(v) for k, v in fields.items()})


def errors(m, data):
    try:
        m.model_validate(data)
    except ValidationError as exc:
        return {e["loc"][0]: e["type"] for e in exc.errors()}
    return {}


def test_shorthand_and_required_by_default():
    m = model(title="string", notes={"type": "text", "required": False})
    assert errors(m, {}) == {"title": "missing"}
    assert m.model_validate({"title": "x"}).notes is None


def test_default_makes_a_field_optional():
    m = model(audience={"type": "enum", "options": ["devs", "all"], "default": "all"})
    assert m.model_validate({}).audience == "all"


@pytest.mark.parametrize(
    ("spec", "good", "bad"),
    [
        ({"type": "integer", "min": 300, "max": 5000}, 1200, 100),
        ({"type": "number", "min": 0}, 2.5, -1),
        ({"type": "string", "max": 5}, "short", "too long"),
        ({"type": "string", "pattern": "^[a-z-]+$"}, "a-slug", "Not A Slug"),
        ({"type": "enum", "options": ["a", "b"]}, "a", "c"),
        ({"type": "boolean"}, True, "perhaps"),
        ({"type": "date"}, "2026-03-29", "next tuesday"),
        ({"type": "datetime"}, "2026-03-29T09:30:00+02:00", "soon"),
        ({"type": "user"}, "U012AB3CD", "@maria"),
        ({"type": "channel"}, "C012AB3CD", "general chat"),
        ({"type": "url"}, "https://docs.example.com/d/1", "not a url"),
        ({"type": "list", "items": "user", "min": 1}, ["U012AB3CD"], []),
        ({"type": "list", "items": "enum", "options": ["sso", "api"]}, ["sso"], ["ftp"]),
    ],
)
def test_each_type_accepts_good_and_refuses_bad(spec, good, bad):
    m = model(value=spec)
    m.model_validate({"value": good})
    assert "value" in errors(m, {"value": bad})


def test_unknown_fields_in_an_answer_are_refused():
    assert errors(model(a="string"), {"a": "x", "b": "y"}) == {"b": "extra_forbidden"}


def test_typed_values_come_back_typed():
    assert model(d="date").model_validate({"d": "2026-03-29"}).d == date(2026, 3, 29)


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "enum"},
        {"type": "string", "options": ["a"]},
        {"type": "integer", "pattern": "x"},
        {"type": "string", "pattern": "("},
        {"type": "boolean", "min": 1},
        {"type": "integer", "min": 5, "max": 1},
        {"type": "integer", "default": "many"},
        {"type": "string", "items": "user"},
    ],
)
def test_inconsistent_field_declarations_are_refused(spec):
    with pytest.raises(ValidationError):
        FieldSpec.model_validate(spec)
