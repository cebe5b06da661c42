"""`conductor promote` and `demote`: refused on too little evidence, and every change printed
passes `conductor validate` once applied."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from bot.cli import main
from bot.definitions.loader import load_paths
from bot.settings import get_settings
from bot.shadow.promote import changed_source, demotion, promotion
from bot.shadow.tables import ShadowCase
from bot.store.db import make_engine
from tests.shadow.helpers import make_folder

AUTOMATED = """id: auto
roles: {ops: [UOPS]}
inputs: {title: string}
steps:
  - id: seo
    uses: cands:triage
    with: {title: "{{ inputs.title }}"}
    outputs: {team: string}
    retry: {attempts: 2}
    escalate_to: ops
  - {id: done, ask: ops}
"""


@pytest.fixture
def folder(tmp_path, migrated_db_url, monkeypatch):
    folder = make_folder(tmp_path)
    (folder / "auto.yaml").write_text(AUTOMATED)
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    monkeypatch.setenv("WORKFLOWS_DIR", str(folder))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def record(url: str, step_id: str, agreed: int, disagreed: int, not_sent: int = 0) -> None:
    now = datetime.now(UTC)
    rows = [{"key": f"r{step_id}{n}:{step_id}:1:shadow", "workflow_id": "shady", "run_id": f"r{n}", "step_id": step_id,
             "attempt": 1, "source": "shadow", "inputs": {}, "person": {}, "fields": {}, "created_at": now,
             "agreed": True if n < agreed else (False if n < agreed + disagreed else None)}
            for n in range(agreed + disagreed + not_sent)]
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(ShadowCase), rows)
    engine.dispose()


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize(("agreed", "disagreed", "args", "said"), [
    (5, 0, [], "not promoted: 5 runs compared, 5 agreed (100.0%), Wilson 95% lower bound 56.6%; fewer than 20 runs"),
    (27, 3, [], "not promoted: 30 runs compared, 27 agreed (90.0%), Wilson 95% lower bound 74.4%; "
                "the lower bound is below 95%"),
    (27, 3, ["--min-agreement", "70"], None),
    (3, 0, ["--min-runs", "3", "--min-agreement", "40"], None),
])
def test_promote_refuses_with_the_figures_until_the_evidence_is_there(folder, migrated_db_url, agreed, disagreed,
                                                                      args, said):
    record(migrated_db_url, "triage", agreed, disagreed, not_sent=4)  # never sent: not judged
    result = cli("promote", "shady", "triage", *args)
    if said is None:
        assert result.exit_code == 0, result.output
        assert "+    uses: cands:triage\n" in result.output and "+    escalate_to: ops\n" in result.output
        assert "+    on_failure: escalate  # review: for the first weeks, ops checks 1 in 10 of its outputs" in result.output
    else:
        assert result.exit_code == 1 and said in result.output, result.output


def _validate(tmp_path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "check"
    out.mkdir(exist_ok=True)
    (out / name).write_text(text)
    return subprocess.run(["conductor", "validate", str(out / name)], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("step_id", ["triage", "sign", "choose"])
def test_each_promotion_passes_validate(folder, migrated_db_url, tmp_path, step_id):
    record(migrated_db_url, step_id, 80, 0)
    assert cli("promote", "shady", step_id).exit_code == 0
    from bot.shadow.promote import figures_of

    loaded = load_paths([str(folder)]).workflows["shady"]
    text = changed_source(loaded, promotion(loaded, step_id, figures_of(migrated_db_url, "shady", step_id),
                                            min_agreement=0.95, min_runs=20))
    checked = _validate(tmp_path, "shady.yaml", text)
    assert checked.returncode == 0, checked.stdout + text
    promoted = load_paths([str(tmp_path / "check")]).workflows["shady"].workflow.step(step_id)
    assert promoted.kind == "automation" and promoted.on_failure == "escalate"
    assert promoted.escalate_to == ("ops" if step_id == "triage" else "leads")


def test_demote_keeps_the_automation_as_the_shadow_and_passes_validate(folder, tmp_path):
    result = cli("demote", "auto", "seo")
    assert result.exit_code == 0, result.output
    assert "+    ask: ops\n" in result.output and "+    shadow:\n" in result.output
    loaded = load_paths([str(folder)]).workflows["auto"]
    text = changed_source(loaded, demotion(loaded, "seo"))
    checked = _validate(tmp_path, "auto.yaml", text)
    assert checked.returncode == 0, checked.stdout + text
    step = load_paths([str(tmp_path / "check")]).workflows["auto"].workflow.step("seo")
    assert step.kind == "task" and step.shadow is not None and step.shadow.uses == "cands:triage"
    assert step.shadow.with_ == {"title": "{{ inputs.title }}"} and list(step.outputs) == ["team"]


def test_refusals_of_what_cannot_move(folder):
    assert "has no `shadow:`" in cli("promote", "auto", "done").output
    assert "is not an automation" in cli("demote", "shady", "triage").output
    assert "has no step `nope`" in cli("promote", "shady", "nope").output
