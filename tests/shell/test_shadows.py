"""Shadow runs in a rehearsal, as under the clock: the candidate runs in its sandbox when the
person is asked, the comparison is recorded once the person answered, and the shell says so in
one line. Nothing the shadow does reaches the run."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.shadow.tables import ShadowCase
from bot.store.db import make_engine, make_session_factory
from tests.shadow.helpers import make_folder
from tests.shell.test_rehearsals import MONDAY, rehearse

SHADOWED = """
id: shady
channel: "#ops"
roles: {ops: [UOPS], leads: [ULEAD]}
inputs:
  title: string
  amount: {type: number, required: false}
steps:
  - id: triage
    ask: ops
    outputs:
      team: string
      estimate: number
      labels: {type: list, items: string}
      note: string
    shadow:
      uses: cands:%(fn)s
      with: {title: "{{ inputs.title }}"}
      timeout: %(timeout)s
      compare:
        team: normalized
        estimate: {number: {tolerance: 0.5}}
        labels: set
  - id: sign
    approvers: [leads]
    shadow:
      run: [python3, -c, "import json, os; print(json.dumps({'approved': os.environ['CONDUCTOR_SHADOW'] == '1'}))"]
  - id: choose
    decide: leads
    routes:
      - {goto: small, label: Small}
      - {goto: big, label: Big}
    shadow:
      http: {url: "https://router.example.com/route", method: POST}
  - {id: small, ask: ops, next: end}
  - {id: big, ask: ops}
"""

SCRIPT = """/conductor start shady title="Backend outage" amount=50
:seen "triage: its shadow runs beside the person"
:press Submit
 backend
1.2
a\\nb
same
:seen "triage: shadow compared — agreed"
:wait 2h
:as @lead
:press Approve
:seen "sign: shadow compared — agreed"
:press Big
:seen "choose: shadow compared — not judged"
:as @ops
:press Submit
:expect "complete"
"""


def cases_in(url: str) -> list[ShadowCase]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            return list(db.scalars(select(ShadowCase).order_by(ShadowCase.id)))
    finally:
        engine.dispose()


def test_a_rehearsal_runs_each_shadow_and_records_its_comparison(tmp_path):
    folder = make_folder(tmp_path, workflow=SHADOWED)
    script = tmp_path / "shady.txt"
    script.write_text(SCRIPT)
    url = f"sqlite:///{tmp_path / 'rehearsal.db'}"
    status, output = rehearse(script, MONDAY, workflows=str(folder), database_url=url)
    assert status == 0, output[-3000:]
    by_step = {case.step_id: case for case in cases_in(url)}
    assert list(by_step) == ["triage", "sign", "choose"]
    triage, sign, choose = by_step.values()
    assert triage.agreed is True and triage.candidate["shadowed"] == "" and triage.person["team"] == "backend"
    assert sign.agreed is True and sign.candidate == {"approved": True}  # the command saw CONDUCTOR_SHADOW=1
    assert choose.candidate_status == "not_sent" and choose.agreed is None  # http is never sent
    # The shadow changed nothing people saw: the person's route (Big) was taken, not the shadow's.
    assert "✓ big" in output and "over to you: small" not in output


@pytest.mark.parametrize(("fn", "said"), [
    ("wrong", "triage: shadow compared — disagreed on team, estimate, labels, note"),
    ("broken", "triage: shadow compared — disagreed: the shadow failed"),
])
def test_a_shadow_that_disagrees_or_fails_is_told_and_the_run_goes_on(tmp_path, fn, said):
    folder = make_folder(tmp_path, fn=fn, workflow=SHADOWED)
    script = tmp_path / f"{fn}.txt"
    script.write_text(SCRIPT.split(":seen \"triage: shadow compared")[0] + f":seen \"{said}\"\n")
    status, output = rehearse(script, MONDAY, workflows=str(folder))
    assert status == 0, output[-3000:]
    assert "@lead, your approval please: sign" in output
