"""Every parser of what Slack sends, fed arbitrary text and JSON-shaped data: it answers with a
parsed result or a clean refusal, never an unexpected exception. (The workflow loader has its
own fuzz: tests/definitions/test_loader_fuzz.py.)"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.definitions.fields import FieldSpec
from bot.slack.actions.payload import Click, read_click
from bot.slack.actions.payload import problem as click_problem
from bot.slack.blocks.actions import parse_action_value, parse_metadata
from bot.slack.blocks.inputs import parse_form_values
from bot.slack.blocks.text import escape, unescape
from bot.slack.commands.parse import Command, CommandError, parse_command
from bot.slack.commands.payload import problem as command_problem
from bot.slack.events.payload import home_user, read_reply
from bot.slack.events.payload import problem as event_problem
from bot.slack.lookup import body_problem, request_problem, text_problem
from bot.slack.views.payload import Submission, read_submission
from bot.slack.views.payload import problem as view_problem
from bot.usecases.reads import plain_id
from tests.hostile.junk import json_values, mutated, valid_payloads

# 300 inputs per parser (2,100 in all, a few seconds), the same ones every run.
FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
FIELDS = {
    "text": FieldSpec(type="text"), "string": FieldSpec(type="string", max=10), "number": FieldSpec(type="number"),
    "integer": FieldSpec(type="integer", min=0), "boolean": FieldSpec(type="boolean"), "date": FieldSpec(type="date"),
    "datetime": FieldSpec(type="datetime"), "enum": FieldSpec(type="enum", options=["a", "b" * 200]),
    "user": FieldSpec(type="user"), "channel": FieldSpec(type="channel"), "url": FieldSpec(type="url"),
    "tags": FieldSpec(type="list", items="string"), "picks": FieldSpec(type="list", items="enum", options=["x", "y"]),
    "people": FieldSpec(type="list", items="user"), "numbers": FieldSpec(type="list", items="number"),
}
ELEMENTS = ["plain_text_input", "number_input", "checkboxes", "static_select", "radio_buttons", "multi_static_select",
            "users_select", "conversations_select", "channels_select", "datepicker", "multi_users_select",
            "multi_conversations_select", "multi_channels_select", "datetimepicker", "url_text_input", None, 7,
            ["users_select"], {"type": "datepicker"}]
def form_value(value: Any) -> bool:
    """What a parsed form value may be: text, a finite number, a boolean, or a list of those."""
    if isinstance(value, list):
        return all(form_value(v) and not isinstance(v, list) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int, bool))


@FUZZ
@given(st.one_of(st.text(max_size=80), st.builds(lambda verb, rest: f"{verb} {rest}", st.sampled_from(
    ["start", "status", "cancel", "standup", "away", "board", "reload", "START", "help"]), st.text(max_size=60))))
def test_command_text(text: str):
    try:
        command = parse_command(text)
    except CommandError as refusal:
        assert str(refusal) and "<!" not in str(refusal)
        return
    assert isinstance(command, Command) and all(isinstance(w, str) for w in command.args)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in command.options.items())


@FUZZ
@given(st.dictionaries(st.sampled_from(["command", "text", "user_id", "channel_id", "trigger_id", "x"]),
                       st.one_of(st.text(max_size=10), st.none(), st.integers()), max_size=6))
def test_slash_command_fields(body: dict):
    assert command_problem(body) is None or isinstance(command_problem(body), str)


@FUZZ
@given(st.one_of(json_values, st.integers(0, 7).flatmap(
    lambda n: st.builds(lambda junk, seed: mutated(__import__("random").Random(seed), valid_payloads()[n], junk),
                        json_values, st.integers(0, 2**32)))))
@example(body={"view": {}})  # a block action in a modal carries a view, and is no submission
def test_payload_readers(body: Any):
    if not isinstance(body, dict):
        return
    text_problem(body)
    if click_problem(body) is None:
        for action in body["actions"]:
            click = read_click(body, action)
            assert isinstance(click, Click) and isinstance(click.user, str)
            assert all(v is None or isinstance(v, str) for v in (click.run_id, click.step_id, click.choice, click.channel))
    if view_problem(body) is None and body.get("type") == "view_submission":  # others only carry a view
        form = read_submission(body, body["view"])
        assert isinstance(form, Submission) and isinstance(form.values, dict)
        assert all(v is None or isinstance(v, str) for v in (form.run_id, form.step_id, form.workflow_id))
        assert isinstance(form.given, dict)
        parsed = parse_form_values(form.values, FIELDS)
        assert all(form_value(v) for v in parsed.values()), parsed
    if event_problem(body) is None and isinstance(body.get("event"), dict):
        reply = read_reply(body, body["event"])
        assert reply is None or (isinstance(reply.text, str) and isinstance(reply.channel, str))
        user = home_user(body["event"])
        assert user is None or isinstance(user, str)


@FUZZ
@given(st.dictionaries(st.sampled_from(list(FIELDS) + ["other"]), st.one_of(
    json_values,
    st.builds(lambda etype, key, junk: {"value": {"type": etype, key: junk}}, st.sampled_from(ELEMENTS), st.sampled_from(
        ["value", "selected_option", "selected_options", "selected_user", "selected_users", "selected_date",
         "selected_date_time", "selected_conversation", "selected_channels"]), json_values),
    st.builds(lambda etype, text: {"value": {"type": etype, "value": text}}, st.sampled_from(ELEMENTS),
              st.one_of(st.text(max_size=30), st.sampled_from(["1e400", "nan", "-inf", "9" * 5000, "²", " 12 ", "1_0"]))),
), max_size=8))
def test_form_values(values: dict):
    parsed = parse_form_values(values, FIELDS)
    assert set(parsed) <= set(FIELDS)
    assert all(form_value(v) for v in parsed.values()), parsed


@FUZZ
@given(st.one_of(st.none(), st.text(max_size=60), st.builds(json.dumps, json_values), st.just("[" * 3000)))
def test_button_values_and_form_metadata(text: Any):
    assert isinstance(parse_action_value(text), dict)
    assert isinstance(parse_metadata(text), dict)
    assert plain_id(parse_action_value(text).get("run_id")) is None or isinstance(parse_action_value(text)["run_id"], str)


@FUZZ
@given(st.binary(max_size=200) | st.builds(lambda v: json.dumps(v).encode(), json_values),
       st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]),
       st.one_of(st.none(), st.text(max_size=12)))
def test_request_bodies(body: bytes, content_type: str, timestamp: str | None):
    refused = request_problem(body, content_type, timestamp)
    assert refused is None or (refused[0] in (400, 401) and refused[1])
    assert body_problem(body, content_type) is None or isinstance(body_problem(body, content_type), str)


@FUZZ
@given(st.text(max_size=60))
def test_escaped_text_reads_back_as_typed(text: str):
    assert unescape(escape(text)) == text
    assert "<" not in escape(text) and ">" not in escape(text)
