"""The README's promises that can drift: its error table and the commands it documents."""

from __future__ import annotations

import re
from pathlib import Path

from bot.definitions.problems import CODES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_error_table_lists_every_code_with_its_meaning():
    rows = dict(re.findall(r"^\| ([EW]\d{3}) \| (.+?) \|$", README, flags=re.MULTILINE))
    assert rows == CODES


def test_the_two_set_up_commands_are_there():
    assert "pip install -e . && conductor shell" in README
    assert "pip install -e '.[test]' && python -m pytest" in README
    assert "pip install -e '.[test]' && python -m pytest" in (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
