"""Scripted rehearsals of every example workflow, played by `conductor shell --script` logic
in this process: signed requests to the real app, the real engine and messenger, SQLite, and
virtual time. Each script checks what people would read with `:expect` / `:seen`."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.shell.terminal import run_shell

REHEARSALS = Path(__file__).parent / "rehearsals"
MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

# Each example workflow, with when its rehearsal starts (the stand-up before its 05:00 cron).
SCRIPTS = {
    "blog-article.txt": MONDAY,
    "campaign-launch.txt": MONDAY,
    "client-onboarding.txt": datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
    "daily-standup.txt": datetime(2026, 3, 2, 4, 0, tzinfo=UTC),
}


def rehearse(script: Path, start: datetime, workflows: str = "workflows",
             database_url: str | None = None) -> tuple[int, str]:
    out = io.StringIO()
    status = run_shell(workflows_dir=workflows, database_url=database_url, as_user=None, script=str(script),
                       start=start, live_http=False, color=False, out=out)
    return status, out.getvalue()


def test_every_example_workflow_has_a_rehearsal():
    examples = {p.stem for p in Path("workflows").glob("*.yaml")}
    assert examples == {Path(name).stem for name in SCRIPTS}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_rehearsal_plays_to_the_end(name):
    status, output = rehearse(REHEARSALS / name, SCRIPTS[name])
    assert status == 0, output[-3000:]
    assert "Traceback" not in output
    # Every check in the script was played and held.
    checks = sum(1 for line in (REHEARSALS / name).read_text().splitlines() if line.startswith((":expect", ":seen")))
    assert output.count("  ✔ ") == checks, output[-3000:]


def test_the_blog_rehearsal_escalates_and_a_person_takes_over():
    _, output = rehearse(REHEARSALS / "blog-article.txt", MONDAY)
    assert "publish: try 5 fails, as asked (:fail)" in output
    assert "Automation failed: Publish" in output
    assert "Publish done by @webops" in output
    # Nothing was sent to the CMS: the rehearsal never calls out of the machine.
    assert "not sent in rehearsal" not in output.split(":fail publish")[1]


def test_the_standup_asks_each_person_in_their_own_morning():
    _, output = rehearse(REHEARSALS / "daily-standup.txt", datetime(2026, 3, 2, 4, 0, tzinfo=UTC))
    berlin = output.index("── DM @nora ──")
    new_york = output.index("── DM @milo ──")
    assert berlin < new_york
    # Nora (Berlin) is asked at 08:00 UTC and Milo (New York) at 14:00 UTC: the shell shows
    # each moment in the acting person's zone, and both are 09:00 where they live.
    assert "Mon 02 Mar 08:00" in output[berlin:berlin + 200] or "Mon 02 Mar 09:00" in output[berlin:berlin + 200]


def test_a_failed_expectation_names_the_line_and_exits_1(tmp_path):
    script = tmp_path / "wrong.txt"
    script.write_text("/conductor list\n:expect \"no such text anywhere\"\n/conductor help\n")
    status, output = rehearse(script, MONDAY)
    assert status == 1
    assert f"{script}:2: expected 'no such text anywhere'" in output
    assert "/conductor help" not in output  # the script stopped at the failure


def test_a_line_the_shell_cannot_play_fails_the_script(tmp_path):
    script = tmp_path / "typo.txt"
    script.write_text(":as @nobody-here\n")
    status, output = rehearse(script, MONDAY)
    assert status == 1 and "nobody called @nobody-here" in output


def test_an_edited_workflow_is_rehearsed_before_it_reaches_the_team(tmp_path):
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "expenses.yaml").write_text(
        "id: expenses\nchannel: \"#finance\"\nroles: {approver: [U01FINANCE]}\n"
        "steps:\n  - id: approve\n    approvers: [approver]\n    prompt: Approve {{ inputs.amount }} EUR?\n"
        "inputs:\n  amount: {type: number, min: 1}\n")
    script = tmp_path / "expenses.txt"
    script.write_text("/conductor start expenses amount=0\n:expect \"amount\"\n"
                      "/conductor start expenses amount=120\n:seen \"Approve 120\"\n"
                      ":as @finance\n:press Approve\n:seen \"The run is complete\"\n")
    status, output = rehearse(script, MONDAY, workflows=str(folder))
    assert status == 0, output


def tour_lines(readme: str) -> list[str]:
    """The lines the README's tour tells a person to type, in order."""
    tour = readme.split("## A two-minute tour", 1)[1].split("### Rehearse your own workflow", 1)[0]
    typed: list[str] = []
    for block in tour.split("```text")[1:]:
        for line in block.split("```", 1)[0].splitlines():
            if line.startswith("  > "):
                typed.append(line[4:])
            elif "> " in line and not line.startswith(" "):
                typed.append(line.split("> ", 1)[1])
    return typed


def test_the_readme_tour_is_true(tmp_path):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    lines = tour_lines(readme)
    assert lines[0].startswith("/conductor start blog-article") and ":press Take over" in lines
    script = tmp_path / "tour.txt"
    script.write_text("\n".join(lines + [':seen "Publish done by @webops"']) + "\n")
    status, output = rehearse(script, MONDAY)
    assert status == 0, output[-3000:]
    assert "type a link starting with https://" in output
    assert "Automation failed: Publish" in output
    assert output.count("The run is complete") == 2
