"""`run:` commands: a templated program (E211), and templated arguments that could be read as
options (E212 when a person types the value, W203 otherwise)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.definitions.check_commands import FIX
from bot.definitions.loader import load_bytes
from bot.definitions.problems import CODES

WORKFLOW = """\
id: commands
roles:
  editor: U0123ABC
inputs:
  title: string
  count: integer
  mode: {type: enum, options: [fast, thorough]}
steps:
  - id: draft
    ask: editor
    outputs:
      doc: url
      size: {type: enum, options: [small, large]}
  - id: review
    approvers: [editor]
  - id: lookup
    uses: automations.directory:lookup
    outputs:
      path: string
      level: {type: enum, options: [low, high]}
  - id: command
    run: RUN
"""
RUN_LINE = WORKFLOW.splitlines().index("    run: RUN") + 1


def problems_for(argv: list[str]) -> list[tuple[int, str, str]]:
    """(index in argv, code, message) of every problem the command gets."""
    text = WORKFLOW.replace("RUN", json.dumps(argv))
    _, problems = load_bytes("commands.yaml", text.encode())
    line = text.splitlines()[RUN_LINE - 1]
    starts, at = {}, 0
    for n, item in enumerate(argv):
        at = line.index(json.dumps(item), at)
        starts[at + 1] = n
        at += len(json.dumps(item))
    assert all(p.line == RUN_LINE for p in problems), [p.format() for p in problems]
    return [(starts[p.column], p.code, p.message) for p in problems]


def codes_for(argv: list[str]) -> list[tuple[int, str]]:
    return [(n, code) for n, code, _ in problems_for(argv)]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["{{ inputs.mode }}", "check"], [(0, "E211")]),
        (["./bin/{{ inputs.title }}.sh"], [(0, "E211")]),
        (["{% if inputs.mode %}black{% endif %}"], [(0, "E211")]),
        (["${{ secrets.TOOL }}", "--check"], [(0, "E211")]),
        (["tool", "{{ inputs.mode }}"], []),
    ],
    ids=["whole-template", "inside-the-name", "statement", "secret", "literal"],
)
def test_the_program_is_named_literally(argv, expected):
    assert codes_for(argv) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # What a person types, alone or at the start of an argument: an error.
        (["tool", "--title", "{{ inputs.title }}"], [(2, "E212")]),
        (["tool", "{{ inputs.title }}"], [(1, "E212")]),
        (["tool", "{{ inputs.title }}.txt"], [(1, "E212")]),
        (["tool", "{{ inputs.count }}"], [(1, "E212")]),
        (["tool", "{{ steps.draft.outputs.doc }}"], [(1, "E212")]),
        (["tool", "{{ steps.review.reason }}"], [(1, "E212")]),
        (["tool", "{{ inputs.mode }}-{{ inputs.title }}"], [(1, "E212")]),
        (["tool", "{% for t in [inputs.title] %}{{ t }}{% endfor %}"], [(1, "E212")]),
        # What code made: a warning.
        (["tool", "{{ steps.lookup.outputs.path }}"], [(1, "W203")]),
        (["tool", "{{ steps.lookup.outputs.path }}/old"], [(1, "W203")]),
        # Each argument on its own.
        (["tool", "{{ inputs.title }}", "{{ steps.lookup.outputs.path }}"], [(1, "E212"), (2, "W203")]),
        # Glued to a literal option, or anything literal first: never an option.
        (["tool", "--title={{ inputs.title }}"], []),
        (["tool", "-t{{ inputs.title }}"], []),
        (["tool", "title: {{ inputs.title }}"], []),
        (["tool", " {{ inputs.title }}"], []),
        (["tool", "${{ secrets.PREFIX }}{{ inputs.title }}"], []),
        # After a literal `--`, only operands follow.
        (["tool", "--", "{{ inputs.title }}", "{{ steps.lookup.outputs.path }}"], []),
        (["tool", "{{ inputs.title }}", "--", "{{ inputs.title }}"], [(1, "E212")]),
        (["tool", "--{{ inputs.mode }}", "{{ inputs.title }}"], [(2, "E212")]),
        # Values only the author lists, or the bot makes.
        (["tool", "{{ inputs.mode }}", "{{ steps.draft.outputs.size }}", "{{ steps.lookup.outputs.level }}"], []),
        (["tool", "{{ run.id }}", "{{ run.url }}", "{{ workflow.id }}", "{{ steps.lookup.status }}"], []),
        (["tool", "{{ 'fixed' }}"], []),
        # A template error is reported once, by the template checks.
        (["tool", "{{ inputs.title "], [(1, "E301")]),
    ],
)
def test_templated_arguments(argv, expected):
    assert codes_for(argv) == expected


def test_the_program_and_its_arguments_are_both_checked():
    assert codes_for(["{{ inputs.mode }}", "{{ inputs.title }}"]) == [(0, "E211"), (1, "E212")]


def test_messages_say_the_fix():
    (_, _, program), = problems_for(["{{ inputs.mode }}"])
    assert "name the program literally" in program
    (_, _, typed), = problems_for(["tool", "--title", "{{ inputs.title }}"])
    assert FIX in typed and "`inputs.title`" in typed and "a person types" in typed
    assert "`--title={{ inputs.title }}`" in typed  # the option before it, glued as the fix
    (_, _, made), = problems_for(["tool", "{{ steps.lookup.outputs.path }}"])
    assert FIX in made and "start with `-`" in made
    assert FIX == "write it as --name={{ … }}, or put `--` before it"


def test_a_value_before_the_argument_is_not_offered_as_an_option():
    (_, _, message), = problems_for(["tool", "-v", "{{ inputs.title }}"])
    assert "(here" not in message


def test_a_shell_string_is_refused_before_these_checks():
    text = WORKFLOW.replace("RUN", json.dumps("{{ inputs.mode }} --title {{ inputs.title }}"))
    loaded, problems = load_bytes("commands.yaml", text.encode())
    assert loaded is None
    assert [p.code for p in problems] == ["E111"]


def test_the_new_codes_are_listed():
    assert {"E211", "E212", "W203"} <= set(CODES)
    output = CliRunner().invoke(main, ["validate", "--codes"]).output
    assert {"E211", "E212", "W203"} <= {line.split()[0] for line in output.splitlines()}
