"""`conductor validate`, `schema` and `diagram` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.definitions.problems import CODES

ROOT = Path(__file__).resolve().parents[2]


def test_validate_defaults_to_the_workflows_folder(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("4 files checked: 0 errors, 0 warnings")


def test_validate_reports_errors_with_exit_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nsteps:\n  - id: a\n    ask: nobody\n")
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:4:10: E203 no role `nobody`" in result.output
    assert "1 file checked: 1 error, 0 warnings" in result.output


def test_warnings_alone_exit_0(tmp_path):
    warn = tmp_path / "warn.yaml"
    warn.write_text("id: x\nsteps:\n  - {id: a, ask: starter, next: end}\n  - {id: b, ask: starter}\n")
    result = CliRunner().invoke(main, ["validate", str(warn)])
    assert result.exit_code == 0 and "W201" in result.output


def test_no_files_is_an_error(tmp_path):
    assert CliRunner().invoke(main, ["validate", str(tmp_path)]).exit_code == 1


def test_codes_lists_every_code():
    output = CliRunner().invoke(main, ["validate", "--codes"]).output
    assert [line.split()[0] for line in output.splitlines()] == list(CODES)


def test_schema_is_json_schema():
    schema = json.loads(CliRunner().invoke(main, ["schema"]).output)
    assert schema["$schema"].endswith("2020-12/schema")
    assert "steps" in schema["required"]


def test_diagram_of_a_broken_file_prints_its_problems(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n")
    result = CliRunner().invoke(main, ["diagram", str(bad)])
    assert result.exit_code == 1 and "E102 missing required key `steps`" in result.output


def test_the_installed_command_runs():
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "diagram", str(ROOT / "workflows" / "daily-standup.yaml")],
        capture_output=True, text=True, check=True,
    )
    assert result.stdout.startswith("flowchart TD")


def test_validate_reads_number_like_text_as_text_without_a_traceback(tmp_path):
    odd = tmp_path / "odd.yaml"
    odd.write_text("id: odd\nname: -_\nsteps:\n  - {id: a, ask: starter, prompt: ._}\n"
                   "  - {id: b, ask: starter, prompt: 0x_}\n  - {id: c, ask: starter, prompt: +_}\n")
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text("id: tagged\nname: !!int -_\nsteps:\n  - {id: a, ask: starter}\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "validate", str(odd), str(tagged)],
        capture_output=True, text=True,
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{tagged}:2:7: E103 `-_` is not a YAML 1.2 `!!int` value" in result.stdout
    assert str(odd) not in result.stdout
    assert "2 files checked: 1 error" in result.stdout
