"""`shadow:` in the workflow language: what it accepts, and each mistake at its line and column."""

from __future__ import annotations

import pytest

from bot.definitions.loader import load_paths
from bot.definitions.shadow import NumberCompare
from bot.definitions.steps import GateStep, TaskStep

GOOD = """id: w
roles: {ops: [UOPS]}
steps:
  - id: triage
    ask: ops
    outputs: {team: string, estimate: number, labels: {type: list, items: string}}
    shadow:
      uses: automations.triage:guess
      with: {title: "{{ inputs.title }}"}
      compare:
        team: normalized
        estimate: {number: {tolerance: 0.5}}
        labels: set
  - id: choose
    decide: ops
    routes: [{goto: end, label: Stop}, {goto: sign}]
    shadow: {run: [python, choose.py]}
  - id: sign
    approvers: [ops]
    shadow: {http: {url: "https://rules.example.com/sign"}, compare: {approved: exact}}
"""


def load(tmp_path, text):
    path = tmp_path / "w.yaml"
    path.write_text(text)
    return path, load_paths([str(path)])


def test_a_shadow_on_each_kind_of_person_step(tmp_path):
    _, catalog = load(tmp_path, GOOD)
    assert catalog.ok, [p.format() for p in catalog.problems]
    workflow = catalog.workflows["w"].workflow
    triage = workflow.step("triage")
    assert isinstance(triage, TaskStep) and triage.shadow is not None
    assert triage.shadow.compare["team"] == "normalized"
    assert isinstance(triage.shadow.compare["estimate"], NumberCompare)
    assert triage.shadow.compare["estimate"].number.tolerance == 0.5
    assert triage.shadow.timeout.total_seconds() == 60
    choose = workflow.step("choose")
    assert isinstance(choose, GateStep) and choose.shadow_fields() == ("route",)
    assert workflow.step("sign").shadow_fields() == ("approved",)


@pytest.mark.parametrize(("change", "where", "message"), [
    (("labels: set", "colour: set"), "", "`shadow.compare` names `colour`, which the step does not hand off"),
    (("uses: automations.triage:guess", "uses: conductor/post"), "8:", "a shadow cannot use the built-in"),
    (("uses: automations.triage:guess", "run: \"python x.py\""), "8:", "`run` takes a list of arguments"),
    (("labels: set", "labels: fuzzy"), "13:17:", "the text `fuzzy` is not allowed here: expected 'exact', 'normalized' or 'set'"),
    (("estimate: {number: {tolerance: 0.5}}", "estimate: {number: {tolerance: -1}}"), "12:40:", "greater than or equal to 0"),
    (("    shadow: {run: [python, choose.py]}", "    shadow: {run: [a], uses: b.c:d}"), "", "a shadow needs exactly one"),
    (("      with: {title", "      wiht: {title"), "9:", "wiht"),
])
def test_mistakes_are_found_at_their_place(tmp_path, change, where, message):
    path, catalog = load(tmp_path, GOOD.replace(*change))
    errors = [p.format() for p in catalog.errors]
    assert any(message in e for e in errors), errors
    assert all(e.startswith(f"{path}:") for e in errors)
    if where:
        assert any(e.startswith(f"{path}:{where}") for e in errors), errors


def test_a_gate_decided_by_its_conditions_takes_no_shadow(tmp_path):
    text = "id: w\ninputs: {n: integer}\nsteps:\n  - id: g\n    routes: [{if: 'inputs.n > 1', goto: end}]\n" \
           "    shadow: {uses: a.b:c}\n  - {id: s, ask: starter}\n"
    _, catalog = load(tmp_path, text)
    assert any("give the gate `decide:`" in p.format() for p in catalog.errors)
