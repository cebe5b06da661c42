"""`conductor cases export` and `conductor replay`, on the database DATABASE_URL names."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.engine import events as ev
from bot.settings import get_settings
from tests.harness import Harness, fails
from tests.shadow.helpers import make_folder, run_shadows

ANSWERS = [
    {"team": "Backend", "estimate": 1.4, "labels": ["a", "b"], "note": "same"},  # agrees with `triage`
    {"team": "frontend", "estimate": 1.4, "labels": ["a", "b"], "note": "same"},  # team differs
    {"team": "Backend", "estimate": 3.0, "labels": ["a"], "note": "same"},  # estimate and labels differ
]


@pytest.fixture
def recorded(migrated_db_url, tmp_path, monkeypatch):
    """Three runs of `shady` whose shadow (`cands:wrong`) disagreed, and one that agreed."""
    folder = make_folder(tmp_path, fn="triage")
    h = Harness(migrated_db_url, [str(folder)])
    for answer in ANSWERS:
        run = h.start("shady", "UOPS", title="Backend outage", amount=50).run_id
        run_shadows(h, folder)
        h.send(run, ev.Answer("triage", "UOPS", answer))
    h.close()
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    monkeypatch.setenv("WORKFLOWS_DIR", str(folder))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cases_are_exported_as_json_fixtures(recorded, tmp_path):
    out = tmp_path / "out"
    result = cli("cases", "export", "shady", "triage", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.output == f"2 cases of shady.triage written to {out}\n"
    fixtures = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    assert sorted(f["person"]["team"] for f in fixtures) == ["Backend", "frontend"]
    one = fixtures[0]
    assert one["inputs"]["with"] == {"title": "Backend outage"} and one["candidate"]["team"] == "BACKEND!"
    assert one["agreed"] is False and one["source"] == "shadow" and one["candidate_status"] == "ok"
    every = cli("cases", "export", "shady", "triage", "-o", str(tmp_path / "all"), "--all")
    assert every.output.startswith("3 comparisons")


def test_replay_prints_agreement_and_the_disagreements(recorded):
    result = cli("replay", "shady", "triage", "--with", "cands:triage", "--all")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == ("replayed 3 cases: 1 agree, 2 disagree, 0 failed — agreement 33.3% "
                        "(Wilson 95% lower bound 6.1%)")
    assert any("team: person 'frontend' ≠ candidate 'BACKEND!' (normalized)" in line for line in lines)
    assert any("estimate: person 3.0 ≠ candidate 1.4 (number ±0.5)" in line for line in lines)
    assert any("labels: person ['a'] ≠ candidate ['b', 'a'] (set)" in line for line in lines)


def test_replay_of_exported_fixtures_with_a_command(recorded, tmp_path):
    out = tmp_path / "out"
    cli("cases", "export", "shady", "triage", "-o", str(out))
    script = recorded / "cand.py"
    script.write_text(
        "import json, os\n"
        "title = json.loads(os.environ['CONDUCTOR_WITH'])['title']\n"
        "team = 'frontend' if os.environ.get('CONDUCTOR_SHADOW') == '1' else 'nope'\n"
        "print(json.dumps({'team': team, 'estimate': 1.4, 'labels': ['a', 'b'], 'note': 'same'}))\n")
    result = cli("replay", "shady", "triage", "--with", "python cand.py", "--cases", str(out))
    lines = result.output.splitlines()
    assert lines[0].startswith("replayed 2 cases: 1 agree, 1 disagree, 0 failed — agreement 50.0%"), result.output


def test_replay_of_take_overs(migrated_db_url, tmp_path, monkeypatch):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "t.yaml").write_text(
        "id: t\nroles: {ops: [UOPS]}\ninputs: {title: string}\nsteps:\n"
        "  - id: seo\n    uses: slugs:slug\n    with: {title: '{{ inputs.title }}'}\n"
        "    outputs: {slug: string}\n    retry: {attempts: 1}\n    escalate_to: ops\n"
        "  - {id: done, ask: ops}\n")
    (folder / "slugs.py").write_text("def slug(ctx):\n    return {'slug': ctx.params['title'].lower().replace(' ', '-')}\n")
    h = Harness(migrated_db_url, [str(folder)])
    h.automations["seo"] = lambda r: fails("down")
    for title, slug in (("Hello World", "hello-world"), ("Big News", "big-news!")):
        run = h.start("t", "UOPS", title=title).run_id
        h.run_automations()
        h.send(run, ev.TakeOver("seo", "UOPS", {"slug": slug}))
    h.close()
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    monkeypatch.setenv("WORKFLOWS_DIR", str(folder))
    get_settings.cache_clear()
    try:
        result = cli("replay", "t", "seo", "--with", "slugs:slug")
    finally:
        get_settings.cache_clear()
    assert result.output.splitlines()[0].startswith("replayed 2 cases: 1 agree, 1 disagree")
    assert "slug: person 'big-news!' ≠ candidate 'big-news' (exact)" in result.output


def test_replay_refuses_an_unknown_workflow(recorded):
    result = CliRunner().invoke(main, ["replay", "nope", "triage", "--with", "cands:triage"])
    assert result.exit_code == 1 and "no workflow `nope`" in result.output
