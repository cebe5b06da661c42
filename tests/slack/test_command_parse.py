"""Reading `/conductor` text."""

from __future__ import annotations

import pytest

from bot.slack.commands.parse import CommandError, parse_command


def test_start_with_inputs_mentions_and_quotes():
    command = parse_command('start blog-article title="Why we conduct" writer=<@U0123ABC|maria> channel=<#C0456|news>')
    assert command.verb == "start" and command.args == ["blog-article"]
    assert command.options == {"title": "Why we conduct", "writer": "U0123ABC", "channel": "C0456"}


def test_smart_quotes_from_phones_are_read_as_quotes():
    assert parse_command("start x title=“Hello world”").options == {"title": "Hello world"}


@pytest.mark.parametrize("text", ["", "   "])
def test_nothing_means_help(text):
    assert parse_command(text).verb == "help"


@pytest.mark.parametrize(
    ("text", "message"),
    [("launch x", "not a command"), ('start x title="open', "check the quotes"), ("start x a=1 a=2", "given twice")],
)
def test_unreadable_input_is_explained(text, message):
    with pytest.raises(CommandError, match=message):
        parse_command(text)


def test_shell_and_template_text_stays_data():
    command = parse_command("start x title='$(rm -rf /); {{ 7*7 }}'")
    assert command.options["title"] == "$(rm -rf /); {{ 7*7 }}"


def test_values_with_equals_signs_keep_them():
    assert parse_command("start x url=https://e.com/?a=b").options == {"url": "https://e.com/?a=b"}
