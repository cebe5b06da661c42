"""The insights' Block Kit within Slack's limits however large the report, with what a report
carries (summaries, step names, suggested YAML) escaped so it can never ping or link."""

from __future__ import annotations

import json

from bot.slack.blocks.home import render_home
from bot.slack.blocks.insights import evidence, home_insights, render_insights
from bot.usecases.insights import Advisory, Insights


def advisory(n: int, **over) -> dict:
    item = {"workflow": f"wf{n % 7}", "step": f"step_{n}", "kind": "to_people",
            "summary": f"`step_{n}` is often a person's work: " + "x" * 400,
            "evidence": {"runs": 40, "count": 7, "rate": 0.175, "low": 0.0875, "high": 0.3194,
                         "run_ids": [f"run{n}{k}" for k in range(10)]},
            "suggestion": "- id: step\n  ask: editor\n" * 200}
    item.update(over)
    return item


def step(n: int) -> dict:
    return {"id": f"step_{n}", "kind": "automation", "name": "S" * 300, "runs": 40,
            "duration_seconds": {"count": 40, "median": 12.5, "p90": 7200.0, "max": 9000.0},
            "escalation": {"count": 7, "runs": 40, "rate": 0.175, "low": 0.0875, "high": 0.3194},
            "first_try_success": {"count": 30, "runs": 40, "rate": 0.75, "low": 0.6, "high": 0.86},
            "failure_causes": [{"error": "boom", "count": 3}]}


def big_report(advisories: int = 120, workflows: int = 12, steps: int = 35) -> Insights:
    report = {"generated_at": "2026-12-04T19:00:00+00:00", "since": "2026-09-05T19:00:00+00:00", "window": "90d",
              "workflows": [{"id": f"wf{w}", "name": f"Workflow {w}", "runs": 40, "steps": [step(n) for n in range(steps)],
                             "phases": [{"phase": f"P{p}", "waiting_seconds": {"person": 3600.0, "code": 2.0, "time": 0.0},
                                         "bottleneck": {"wait": "person", "role": "editor"}} for p in range(30)]}
                            for w in range(workflows)],
              "advisories": [advisory(n) for n in range(advisories)]}
    return Insights(report, tuple(f"wf{w}" for w in range(workflows)))


def check_message(blocks: list[dict]) -> None:
    assert 0 < len(blocks) <= 50
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        elif block["type"] == "context":
            assert len(block["elements"]) <= 10 and all(len(e["text"]) <= 3000 for e in block["elements"])
        elif block["type"] == "header":
            assert len(block["text"]["text"]) <= 150


def test_a_huge_report_fits_one_message():
    fallback, blocks = render_insights(big_report())
    check_message(blocks)
    said = json.dumps(blocks)
    assert "more advisories" in said and "more workflows" in said  # what is left out is said
    assert "Workflow 0" in said  # figures are not crowded out by the advisories
    assert len(fallback) <= 3000


def test_an_advisory_shows_its_evidence_and_interval():
    found = Advisory.from_json(advisory(1))
    assert evidence(found) == "7 of 40 runs (18%, interval 9%–32%)"
    too_few = Advisory.from_json(advisory(2, evidence={"runs": 3, "count": 1, "rate": None, "low": None,
                                                       "high": None, "run_ids": []}))
    assert evidence(too_few) == "1 of 3 runs"


def test_figures_are_the_top_ones_of_each_step():
    _, blocks = render_insights(big_report(advisories=0, workflows=1, steps=2))
    check_message(blocks)
    fields = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    assert fields and "40 runs" in fields[0] and "median 12s, p90 2.0h" in fields[0]
    assert "escalation 18% [9%–32%]" in fields[0]
    assert "Nothing to advise" in json.dumps(blocks)


def test_what_a_report_carries_is_escaped():
    hostile = advisory(1, summary="<!channel> see <https://evil.example|here>", step="<@U123>",
                       suggestion="```\n<!here>")
    _, blocks = render_insights(Insights({"workflows": [], "advisories": [hostile]}, ("wf1",)))
    said = json.dumps(blocks)
    assert "<!channel>" not in said and "<!here>" not in said and "<@U123>" not in said
    assert "&lt;!channel&gt;" in said


def test_the_home_part_is_one_line_per_advisory_and_fits_the_view():
    advisories = tuple(Advisory.from_json(advisory(n)) for n in range(150))
    part = home_insights(advisories)
    assert all(len(group) == 1 and "\n" not in group[0]["text"]["text"] for group in part)
    view = render_home([], {}, [], advisories)
    assert len(view["blocks"]) <= 100
    assert "more advisories" in json.dumps(view)
    assert "Insights" not in json.dumps(render_home([], {}, []))  # None: no such part
    assert "Nothing to advise" in json.dumps(render_home([], {}, [], ()))


def test_a_workflow_without_runs_says_so():
    _, blocks = render_insights(Insights({"window": "90d", "workflows": [], "advisories": []}, ("quiet",)))
    check_message(blocks)
    said = json.dumps(blocks)
    assert "No runs of `quiet` started in the period" in said and "Nothing to advise" in said
