"""Templates render in Jinja's sandbox; people's text is data, never template source."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError

from bot.definitions.templates import evaluate, is_template, parse, render


def test_render_uses_context_as_data():
    slack_text = "{{ 7 * 7 }} {% for x in range(10**9) %}{% endfor %} $(rm -rf /)"
    out = render("Title: {{ inputs.title }}", {"inputs": {"title": slack_text}})
    assert out == f"Title: {slack_text}"


def test_sandbox_blocks_reaching_python_internals():
    with pytest.raises(SecurityError):
        render("{{ inputs.__class__.__mro__[1].__subclasses__() }}", {"inputs": {}})


def test_sandbox_is_immutable():
    with pytest.raises(SecurityError):
        render("{{ inputs.tags.append('x') }}", {"inputs": {"tags": []}})


def test_secrets_never_pass_through_jinja():
    assert render("Bearer ${{ secrets.TOKEN }}", {}) == "Bearer "
    assert not is_template("Bearer ${{ secrets.TOKEN }}")
    assert is_template("Bearer ${{ secrets.TOKEN }} for {{ inputs.user }}")


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ("inputs.seats > 50", {"inputs": {"seats": 51}}, True),
        ("{{ inputs.seats > 50 }}", {"inputs": {"seats": 5}}, False),
        ('"sso" in steps.kickoff.outputs.integrations', {"steps": {"kickoff": {"outputs": {"integrations": ["sso"]}}}}, True),
        ("steps.missing.outputs.anything", {"steps": {}}, False),
        ("inputs.plan == 'enterprise' or inputs.flag", {"inputs": {"plan": "starter", "flag": False}}, False),
    ],
)
def test_conditions(condition, context, expected):
    assert evaluate(condition, context) is expected


def test_parse_reports_names_with_their_attribute_chains():
    uses, error = parse("{{ steps.brief.outputs.outline }} {% for k in inputs.keywords %}{{ k.upper() }}{% endfor %}")
    assert error is None
    assert [(u.root, u.attributes) for u in uses] == [
        ("steps", ("brief", "outputs", "outline")),
        ("inputs", ("keywords",)),
    ]


def test_parse_reports_syntax_errors_and_unknown_filters():
    assert parse("{{ x ")[1].code == "E301"
    assert "not closed with `}}`" in parse("{{ x ")[1].message
    error = parse("{{ inputs.x | uppr }}")[1]
    assert (error.code, error.message) == ("E302", "unknown filter `uppr` (did you mean `upper`?)")


def test_a_step_named_like_a_dict_method_is_the_step():
    # `steps.copy` once rendered as the `dict.copy` method's missing attribute: empty text.
    context = {"steps": {"copy": {"outputs": {"doc": "https://docs.example.com/a"}},
                         "items": {"outputs": {"n": 3}}}}
    assert render("{{ steps.copy.outputs.doc }} / {{ steps.items.outputs.n }}", context) == \
        "https://docs.example.com/a / 3"
