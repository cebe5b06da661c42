"""From a person with a shadow to code, and back, the way a team would do it: runs through the
real service build the evidence (a fake clock, a fixed seed), `conductor promote` prints the
change, the change is applied to a copy of the file, `conductor validate` passes on it, and a
scripted rehearsal plays the promoted workflow to its end with the step now run by code. Then
`conductor demote` hands it back, and the rehearsal shows the code running beside the person."""

from __future__ import annotations

import random
import re
import shutil
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.definitions.loader import load_paths
from bot.engine import events as ev
from bot.settings import get_settings
from bot.shadow.worker import run_due_shadows
from tests.harness import Harness
from tests.shell.test_rehearsals import MONDAY, rehearse

CANDIDATE = '''
def triage(ctx):
    words = ctx.params["title"].split()
    return {"team": words[0].lower(), "estimate": round(len(words) / 2, 1)}

def refund(ctx):
    return {"approved": ctx.params["cost"] < 250}
'''

WORKFLOW = """\
# Support tickets: someone in support sends each one to a team, with an estimate in days.
id: tickets
name: Support tickets
channel: "#support"
roles:
  support: [U01SUPPORT]
  leads: [U02LEAD]
inputs:
  title: string
  cost: number
steps:
  - id: triage
    name: Triage
    ask: support
    prompt: Which team takes “{{ inputs.title }}”, and in how many days?
    outputs:
      team: string
      estimate: number
    shadow:
      uses: cands:triage
      with: {title: "{{ inputs.title }}"}
      compare:
        team: normalized  # "Billing " is billing
        estimate: {number: {tolerance: 0.5}}
  - id: refund
    name: Refund
    approvers: [leads]
    prompt: Refund {{ inputs.cost }} EUR?
    shadow:
      uses: cands:refund
      with: {cost: "{{ inputs.cost }}"}
  - id: fix
    ask: support
    prompt: "{{ steps.triage.outputs.team }} fixes it in {{ steps.triage.outputs.estimate }} days."
"""

TEAMS = ("Billing", "Backend", "Mobile", "Search")
WORDS = ("login", "fails", "after", "update", "page", "is", "slow", "on", "Android", "refund", "twice")
SUPPORT, LEAD = "U01SUPPORT", "U02LEAD"


def make_folder(root: Path) -> Path:
    folder = root / "wf"
    folder.mkdir(parents=True)
    (folder / "cands.py").write_text(textwrap.dedent(CANDIDATE))
    (folder / "tickets.yaml").write_text(WORKFLOW)
    return folder


def build_history(h: Harness, folder: Path, runs: int, *, seed: int) -> None:
    """`runs` tickets, each triaged by a person while the shadow runs beside them (the real
    candidate, in its sandbox): the person writes the team as people do (any case, spaces) and
    an estimate within half a day of the shadow's, so every comparison agrees."""
    rng = random.Random(seed)
    for _ in range(runs):
        team = rng.choice(TEAMS)
        title = " ".join([team, *rng.sample(WORDS, rng.randint(1, 6))])
        estimate = round(len(title.split()) / 2 + rng.uniform(-0.4, 0.4), 1)
        written = rng.choice((team, team.upper(), f" {team.lower()} ", f"{team}."))
        cost = rng.randint(10, 500)
        run = h.start("tickets", SUPPORT, title=title, cost=cost).run_id
        assert run_due_shadows(h.service, h.versions, str(folder), h.now) == 1
        h.now += timedelta(minutes=rng.randint(5, 90))
        assert h.send(run, ev.Answer("triage", SUPPORT, {"team": written, "estimate": estimate})).accepted
        assert run_due_shadows(h.service, h.versions, str(folder), h.now) == 1
        if cost < 250:  # the lead refunds what is small, as the shadow would
            assert h.send(run, ev.Approve("refund", LEAD)).accepted
            assert h.send(run, ev.Answer("fix", SUPPORT)).accepted
        else:
            assert h.send(run, ev.Reject("refund", LEAD, "too much for a refund")).accepted
        assert h.state(run).status.value in ("completed", "failed")  # a rejection ends the run
        h.now += timedelta(hours=1)


def cli(folder: Path, *args: str):
    """A `conductor` command on this folder's workflows (settings are read from the environment)."""
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(main, list(args), env={"WORKFLOWS_DIR": str(folder)})
    finally:
        get_settings.cache_clear()


def apply_diff(original: str, diff: str) -> str:
    """A unified diff (as `promote` prints it) applied to `original`; every context and removed
    line must be there, as `git apply` would insist."""
    old = original.splitlines(keepends=True)
    new: list[str] = []
    at = 0
    for line in diff.splitlines(keepends=True):
        if line.startswith(("--- ", "+++ ")):
            continue
        hunk = re.match(r"@@ -(\d+)(?:,(\d+))? \+", line)
        if hunk:
            start = int(hunk.group(1)) - (0 if hunk.group(2) == "0" else 1)
            new += old[at:start]
            at = start
        elif line.startswith("+"):
            new.append(line[1:])
        elif line.startswith((" ", "-")):
            assert old[at] == line[1:], f"the diff does not apply at line {at + 1}: {old[at]!r} != {line[1:]!r}"
            if line.startswith(" "):
                new.append(old[at])
            at += 1
    return "".join(new + old[at:])


def applied(diff: str, to: Path) -> Path:
    """The change applied to a copy of the folder `to` (the workflow and its code)."""
    copy = to.parent / f"{to.name}-changed"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(to, copy)
    path = copy / "tickets.yaml"
    path.write_text(apply_diff(path.read_text(), diff))
    return copy


def lead_approves(then: str) -> str:
    """The lead approves the refund (its shadow agrees) and support is asked `then`."""
    return f''':as @lead
:press Approve
:seen "refund: shadow compared — agreed"
:seen "{then}"
:as @support
'''

PROMOTED_SCRIPT = """\
/conductor start tickets title="Billing refund twice" cost=40
:seen "triage: runs (try 1)"
:seen "✓ Triage"
:seen "refund: its shadow runs beside the person"
""" + lead_approves("billing fixes it in 1.5 days") + """\
:press Submit
:expect "complete"
"""

# The automation had no `compare:` (promotion leaves it out), so the demoted shadow compares
# every field exactly: the person writes the team as the code does.
DEMOTED_SCRIPT = """\
/conductor start tickets title="Search page is slow" cost=40
:seen "triage: its shadow runs beside the person"
:seen "over to you: Triage"
:press Submit
search
2
:seen "triage: shadow compared — agreed"
""" + lead_approves("search fixes it in 2") + """\
:press Submit
:expect "complete"
"""


@pytest.fixture
def url(migrated_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    return migrated_db_url


def test_promoted_then_demoted_the_workflow_still_plays_to_its_end(tmp_path, url):
    folder = make_folder(tmp_path)
    h = Harness(url, [str(folder)])
    build_history(h, folder, 40, seed=7)
    refused = cli(folder, "promote", "tickets", "triage")
    assert refused.exit_code == 1
    assert "40 runs compared, 40 agreed (100.0%), Wilson 95% lower bound 91.2%" in refused.output
    h.now += timedelta(days=7)
    build_history(h, folder, 40, seed=8)  # a week on: 80 agreeing comparisons
    h.close()

    promoted = cli(folder, "promote", "tickets", "triage")
    assert promoted.exit_code == 0, promoted.output
    assert "80 runs compared, 80 agreed (100.0%), Wilson 95% lower bound 95.4%" in promoted.output
    assert "+    on_failure: escalate  # review: for the first weeks, support checks 1 in 10" in promoted.output
    code = applied(promoted.output, folder)
    checked = cli(code, "validate", str(code / "tickets.yaml"))
    assert checked.exit_code == 0, checked.output + (code / "tickets.yaml").read_text()
    step = load_paths([str(code)]).workflows["tickets"].workflow.step("triage")
    assert (step.kind, step.uses, step.on_failure, step.escalate_to) == ("automation", "cands:triage", "escalate",
                                                                         "support")
    assert "# Support tickets" in (code / "tickets.yaml").read_text()  # the rest of the file as it was

    script = tmp_path / "promoted.txt"
    script.write_text(PROMOTED_SCRIPT)
    status, output = rehearse(script, MONDAY, workflows=str(code))
    assert status == 0, output[-3000:]
    assert "over to you: Triage" not in output  # nobody is asked any more: code does the step

    demoted = cli(code, "demote", "tickets", "triage")
    assert demoted.exit_code == 0, demoted.output
    person = applied(demoted.output, code)
    checked = cli(person, "validate", str(person / "tickets.yaml"))
    assert checked.exit_code == 0, checked.output + (person / "tickets.yaml").read_text()
    step = load_paths([str(person)]).workflows["tickets"].workflow.step("triage")
    assert step.kind == "task" and step.ask == "support" and step.shadow.uses == "cands:triage"

    script = tmp_path / "demoted.txt"
    script.write_text(DEMOTED_SCRIPT)
    status, output = rehearse(script, MONDAY, workflows=str(person))
    assert status == 0, output[-3000:]


APPROVAL_SCRIPT = """\
/conductor start tickets title="Billing refund twice" cost=40
:press Submit
billing
1.5
:seen "refund: runs (try 1)"
:seen "✓ Refund"
:seen "billing fixes it in 1.5 days"
:press Submit
:expect "complete"
/conductor start tickets title="Mobile app charged twice" cost=400
:press Submit
mobile
2
:seen "refund: runs (try 1)"
:seen "The run is complete"
"""


def test_a_promoted_approval_decides_in_code_and_a_gate_routes_the_way_people_did(tmp_path, url):
    folder = make_folder(tmp_path)
    h = Harness(url, [str(folder)])
    build_history(h, folder, 80, seed=11)
    h.close()
    promoted = cli(folder, "promote", "tickets", "refund")
    assert promoted.exit_code == 0, promoted.output
    assert "+  - id: refund_decision\n" in promoted.output and "+      - if: not steps.refund.outputs.approved\n" \
        in promoted.output
    code = applied(promoted.output, folder)
    checked = cli(code, "validate", str(code / "tickets.yaml"))
    assert checked.exit_code == 0, checked.output + (code / "tickets.yaml").read_text()

    script = tmp_path / "approval.txt"
    script.write_text(APPROVAL_SCRIPT)
    status, output = rehearse(script, MONDAY, workflows=str(code))
    assert status == 0, output[-3000:]
    assert "your approval please" not in output  # nobody is asked to approve any more
    # Too much to refund: code says no, and the gate ends the run before anyone is asked to fix.
    second = output.split("Mobile app charged twice")[1]
    assert "mobile fixes it" not in second
