"""The shipped example workflows: valid, schema-conformant, and their automations honour the
outputs the workflows declare."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from bot.automations.context import AutomationContext, AutomationError
from bot.definitions.fields import handoff_model
from bot.definitions.loader import load_paths
from bot.definitions.schema import workflow_json_schema, workflow_json_schema_text

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
EXAMPLES = sorted(WORKFLOWS.glob("*.yaml"))


@pytest.fixture(scope="module")
def catalog():
    return load_paths([str(WORKFLOWS)])


def test_the_four_examples_are_shipped(catalog):
    assert set(catalog.workflows) == {"blog-article", "client-onboarding", "campaign-launch", "daily-standup"}


def test_examples_have_no_problem_at_all(catalog):
    assert [p.format() for p in catalog.problems] == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_conforms_to_the_json_schema(path):
    data = YAML(typ="safe", pure=True).load(path.read_text())
    validator = jsonschema.Draft202012Validator(workflow_json_schema())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []


def test_schema_rejects_unknown_keys_like_the_loader():
    validator = jsonschema.Draft202012Validator(workflow_json_schema())
    bad = {"id": "x", "steps": [{"id": "a", "ask": "starter", "promt": "typo"}]}
    assert not validator.is_valid(bad)


def test_shipped_schema_file_is_current():
    shipped = (WORKFLOWS / "conductor.schema.json").read_text()
    assert shipped == workflow_json_schema_text(), "run: conductor schema -o workflows/conductor.schema.json"


def test_every_example_points_editors_at_the_schema():
    for path in EXAMPLES:
        assert path.read_text().startswith("# yaml-language-server: $schema=./conductor.schema.json")


def test_versions_are_content_hashes(catalog):
    versions = {w.version for w in catalog.workflows.values()}
    assert len(versions) == 4 and all(len(v) == 64 for v in versions)


@pytest.fixture()
def automations_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(WORKFLOWS))
    for name in [m for m in sys.modules if m == "automations" or m.startswith("automations.")]:
        monkeypatch.delitem(sys.modules, name)


def _context(**params) -> AutomationContext:
    return AutomationContext(run_id="r1", step_id="s", attempt=1, idempotency_key="r1:s:1", params=params)


def _outputs_model(catalog, workflow_id: str, step_id: str):
    step = catalog.workflows[workflow_id].workflow.step(step_id)
    return handoff_model(f"{workflow_id}.{step_id}", step.outputs)


def test_blog_seo_automation_meets_its_declared_outputs(catalog, automations_on_path):
    from automations.blog import add_seo_metadata

    out = add_seo_metadata(_context(title="Why Wörkflows need Conductors!", angle="People judge. Code repeats.", keywords="workflow, automation"))
    _outputs_model(catalog, "blog-article", "seo").model_validate(out)
    assert out["slug"] == "why-workflows-need-conductors"
    assert out["meta_description"].startswith("Workflow: People judge.")


def test_onboarding_automation_refuses_what_its_rules_do_not_cover(catalog, automations_on_path):
    from automations.onboarding import provision_account

    out = provision_account(_context(company="Acme", plan="growth", seats="40"))
    _outputs_model(catalog, "client-onboarding", "provision").model_validate(out)
    assert out == provision_account(_context(company="acme ", plan="growth", seats=40))  # same key, same account
    with pytest.raises(AutomationError) as failure:
        provision_account(_context(company="Acme", plan="growth", seats=250))
    assert failure.value.retryable is False


def test_campaign_schedule_automation(catalog, automations_on_path):
    from automations.campaign import schedule_posts

    out = schedule_posts(_context(launch_date="2026-03-02", channels="email,ads"))
    _outputs_model(catalog, "campaign-launch", "schedule").model_validate(out)
    assert out["schedule"].splitlines() == ["email 2026-03-02T08:00", "ads 2026-03-01T07:00"]


def test_format_article_command_prints_json_outputs(catalog, automations_on_path):
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "automations.format_article", "--title", "A" * 90, "--words", "1200"],
        cwd=WORKFLOWS, capture_output=True, text=True, check=True,
    )
    out = json.loads(result.stdout)
    _outputs_model(catalog, "blog-article", "format_check").model_validate(out)
    assert out["reading_minutes"] == 5
