"""Broken workflow files, each stating the problems it must produce.

Every file under `fixtures/broken/` starts with comment lines such as

    # expect: 12:7 E101
    # xfail: why the loader does not get this right yet

one `expect` per problem (1-based line and column, then the code). The loader must report
exactly those problems, and a file with an error must not reach the catalog. A folder under
`fixtures/broken/` is loaded as a whole, for mistakes that take more than one file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.definitions.loader import load_paths

BROKEN = Path(__file__).parent / "fixtures" / "broken"
EXPECT = re.compile(r"#\s*expect:\s*(\d+):(\d+)\s+([EW]\d{3})\s*$")
XFAIL = re.compile(r"#\s*xfail:\s*(\S.*?)\s*$")

Found = set[tuple[str, int, int, str]]  # (file name, line, column, code)


def read_header(path: Path) -> tuple[Found, str | None]:
    """The problems a fixture expects, and its xfail reason if it has one."""
    expected: Found = set()
    reason = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if match := EXPECT.match(line):
            expected.add((path.name, int(match[1]), int(match[2]), match[3]))
        elif match := XFAIL.match(line):
            reason = match[1]
        elif re.match(r"#\s*(expect|xfail)\b", line):
            raise ValueError(f"{path.name}: malformed header line {line!r}")
    return expected, reason


def fixture_cases() -> list[pytest.param]:
    cases = []
    for target in sorted(BROKEN.iterdir()):
        if target.is_file() and target.suffix != ".yaml":
            continue
        files = sorted(target.glob("*.yaml")) if target.is_dir() else [target]
        expected: Found = set()
        reasons = []
        for file in files:
            found, reason = read_header(file)
            expected |= found
            reasons += [reason] if reason else []
        marks = [pytest.mark.xfail(strict=True, reason="; ".join(reasons))] if reasons else []
        cases.append(pytest.param(target, files, expected, marks=marks, id=target.stem))
    return cases


def found_problems(paths: list[Path]) -> tuple[Found, set[str]]:
    """The problems reported for `paths`, and the names of the files that reached the catalog."""
    catalog = load_paths([str(p) for p in paths])
    found = {(Path(p.path).name, p.line, p.column, p.code) for p in catalog.problems}
    for problem in catalog.problems:
        assert problem.message.strip(), f"empty message for {problem}"
    loaded = {Path(w.path).name for w in catalog.workflows.values()}
    return found, loaded


def assert_catalog_matches(expected: Found, files: list[str], loaded: set[str]) -> None:
    """A file with an expected error is left out of the catalog; the others are loaded."""
    for name in files:
        has_error = any(f == name and code.startswith("E") for f, _, _, code in expected)
        assert (name in loaded) is not has_error, f"{name}: loaded={name in loaded}, has error={has_error}"


@pytest.mark.parametrize(("target", "files", "expected"), fixture_cases())
def test_broken_fixture(target: Path, files: list[Path], expected: Found) -> None:
    assert expected or target.name == "duplicate_workflow_id", f"{target.name} expects nothing"
    found, loaded = found_problems([target])
    assert sorted(found) == sorted(expected)
    assert_catalog_matches(expected, [f.name for f in files], loaded)


def test_every_code_is_covered() -> None:
    from bot.definitions.problems import CODES

    covered = {code for case in fixture_cases() for *_, code in case.values[2]}
    covered |= {code for case in GENERATED for *_, code in case.values[1]}
    assert set(CODES) - covered == set()


# Mistakes in the bytes of a file, made here rather than committed.
BIG = b"id: big\nsteps:\n  - id: a\n    uses: big.job:run\n" + b"# padding padding padding\n" * 45_000
GENERATED = [
    pytest.param(b"id: onboarding\nname: Caf\xe9 onboarding\n", {(2, 10, "E001")}, id="non_utf8_latin1"),
    pytest.param(
        b"id: onboarding\nname: Caf\xc3\xa9 \xff\n", {(2, 12, "E001")}, id="non_utf8_after_accent",
    ),
    pytest.param(BIG, {(1, 1, "E002")}, id="larger_than_1_mib"),
    pytest.param(b"", {(1, 1, "E003")}, id="empty_file"),
    pytest.param(b"\n   \n\n", {(1, 1, "E003")}, id="blank_lines_only"),
]


@pytest.mark.parametrize(("content", "expected"), GENERATED)
def test_broken_bytes(tmp_path: Path, content: bytes, expected: set[tuple[int, int, str]]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_bytes(content)
    found, loaded = found_problems([path])
    assert {(line, col, code) for _, line, col, code in found} == expected
    assert not loaded


def test_time_stays_text_under_yaml_1_2() -> None:
    catalog = load_paths([str(BROKEN / "yaml12_time_without_leading_zero.yaml")])
    (problem,) = catalog.problems
    assert "`9:30`" in problem.message and "570" not in problem.message


def conductor_command() -> list[str]:
    script = Path(sys.executable).with_name("conductor")
    if script.exists():
        return [str(script)]
    found = shutil.which("conductor")
    if found is None:
        pytest.skip("the conductor command is not installed")
    return [found]


def test_validate_command_prints_every_problem() -> None:
    path = BROKEN / "many_problems.yaml"
    expected, _ = read_header(path)
    result = subprocess.run(
        [*conductor_command(), "validate", str(path)], capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 1
    *lines, summary = result.stdout.splitlines()
    pattern = re.compile(rf"^{re.escape(str(path))}:(\d+):(\d+): ([EW]\d{{3}}) (\S.*)$")
    printed = []
    for line in lines:
        match = pattern.match(line)
        assert match, f"not in `path:line:col: CODE message` form: {line!r}"
        printed.append((path.name, int(match[1]), int(match[2]), match[3]))
    assert sorted(printed) == sorted(expected)
    assert printed == sorted(printed), "problems are printed in file order"
    errors = sum(code.startswith("E") for *_, code in expected)
    assert summary == f"1 file checked: {errors} errors, {len(expected) - errors} warnings"
    assert "`0 25 * * *`" in result.stdout and "`Mars/Olympus`" in result.stdout
