"""The four-question diagnostic, as a function and as `conductor diagnose`."""

from __future__ import annotations

import itertools

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.definitions.four_questions import recommend

# (subjective, variable, repetitive, consistency_critical) -> recommendation
TABLE = {
    (True, True, False, False): "orchestral",
    (True, False, False, False): "orchestral",
    (False, True, False, True): "split",
    (False, False, True, True): "algorithmic",
    (False, False, False, True): "algorithmic",
    (True, True, True, True): "split",  # the blog article: a creative core and a production tail
    (True, True, True, False): "orchestral",
    (True, False, True, True): "algorithmic",
    (False, False, False, False): "orchestral",
}


@pytest.mark.parametrize(("answers", "expected"), TABLE.items())
def test_recommendation_table(answers, expected):
    assert recommend(*answers).recommendation == expected


def test_every_combination_has_a_one_sentence_reason():
    for answers in itertools.product([True, False], repeat=4):
        reason = recommend(*answers).reason
        assert reason.endswith(".") and reason.count(". ") == 0


def test_cli_with_flags():
    result = CliRunner().invoke(
        main, ["diagnose", "--subjective", "no", "--variable", "no", "--repetitive", "yes", "--consistency-critical", "yes"]
    )
    assert result.exit_code == 0
    assert "Recommendation: algorithmic" in result.output


def test_cli_asks_the_questions_it_was_not_given(monkeypatch):
    monkeypatch.setattr("bot.cli._stdin_is_terminal", lambda: True)
    result = CliRunner().invoke(main, ["diagnose", "--subjective", "yes"], input="yes\nno\nno\n")
    assert result.exit_code == 0, result.output
    assert "variable or unpredictable?" in result.output
    assert "Recommendation: orchestral" in result.output


def test_cli_without_a_terminal_says_which_flag_is_missing():
    result = CliRunner().invoke(main, ["diagnose", "--subjective", "yes"])
    assert result.exit_code == 2
    assert "--variable yes|no" in result.output
