"""`review:` in the workflow language: what it accepts, and each mistake at its line and column."""

from __future__ import annotations

import pytest

from bot.definitions.loader import load_paths
from bot.definitions.schema import workflow_json_schema_text
from bot.definitions.steps import AutomationStep

BASE = """id: w
roles: {ops: [UOPS]}
steps:
  - id: triage
    uses: automations.triage:guess
    outputs: {team: string}
    review: %s
"""


def load(tmp_path, review):
    path = tmp_path / "w.yaml"
    path.write_text(BASE % review)
    return load_paths([str(path)])


@pytest.mark.parametrize(("written", "share"), [("{by: ops, sample: 10%}", 10.0), ("{by: ops}", 100.0),
                                                 ("{by: ops, sample: 2.5%}", 2.5), ("{by: ops, sample: 100%}", 100.0),
                                                 ("{by: ops, sample: 1%}", 1.0)])
def test_a_review_names_a_role_and_a_share(tmp_path, written, share):
    catalog = load(tmp_path, written)
    assert catalog.ok, [p.format() for p in catalog.problems]
    step = catalog.workflows["w"].workflow.step("triage")
    assert isinstance(step, AutomationStep) and step.review is not None
    assert (step.review.by, step.review.sample) == ("ops", share)


def test_review_by_must_name_a_role(tmp_path):
    catalog = load(tmp_path, "{by: opps, sample: 10%}")
    [problem] = catalog.errors
    assert problem.format().endswith("w.yaml:7:18: E203 no role `opps`: declare it under `roles` (did you mean `ops`?)")


@pytest.mark.parametrize(("written", "says"), [
    ("{by: ops, sample: 0%}", "between 1% and 100% (found 0%)"),
    ("{by: ops, sample: 150%}", "between 1% and 100% (found 150%)"),
    ("{by: ops, sample: often}", "`often` is not a percentage: write it as `10%`"),
    ("{by: ops, sample: 10%, who: me}", "who"),
    ("{sample: 10%}", "by"),
])
def test_a_wrong_review_is_an_error_at_its_place(tmp_path, written, says):
    catalog = load(tmp_path, written)
    assert not catalog.ok
    formatted = [p.format() for p in catalog.errors]
    assert any(says in f and "w.yaml:7:" in f for f in formatted), formatted


def test_review_is_in_the_json_schema():
    assert '"Review"' in workflow_json_schema_text() and "sample" in workflow_json_schema_text()
