"""The control-flow graph (reachability, loops, what ran before what) and its Mermaid drawing."""

from __future__ import annotations

from pathlib import Path

from bot.definitions.diagram import to_mermaid
from bot.definitions.flow import build_flow
from bot.definitions.loader import load_bytes, load_paths

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def workflow(text: str):
    loaded, problems = load_bytes("w.yaml", text.encode())
    assert loaded is not None, [p.format() for p in problems]
    return loaded.workflow


PARALLEL = """
id: p
steps:
  - {id: brief, ask: starter}
  - {id: copy, ask: starter, needs: brief}
  - {id: design, ask: starter, needs: brief}
  - {id: review, approvers: starter, needs: [copy, design], on_reject: copy}
  - {id: ship, uses: "conductor/wait"}
"""


def test_needs_fan_out_and_join():
    flow = build_flow(workflow(PARALLEL))
    assert sorted(flow.successors("brief")) == ["copy", "design"]
    assert flow.successors("copy") == ["review"]  # not falling through into `design`
    assert sorted(flow.successors("review")) == ["copy", "ship"]
    assert flow.ancestors()["review"] == {"brief", "copy", "design"}
    assert flow.ancestors()["design"] == {"brief"}


def test_rejection_is_a_loop_and_not_an_ancestor():
    flow = build_flow(workflow(PARALLEL))
    loops = [(e.source, e.target) for e in flow.edges if flow.is_loop(e)]
    assert loops == [("review", "copy")]
    assert "review" not in flow.ancestors()["copy"]


def test_gate_tracks_and_next_end():
    text = (WORKFLOWS / "client-onboarding.yaml").read_text()
    flow = build_flow(workflow(text))
    assert sorted(flow.successors("qualify")) == ["assign_manager", "provision"]
    assert flow.successors("welcome") == ["end"]
    assert sorted(flow.successors("setup_path")) == ["custom_setup", "enterprise_provision"]
    assert flow.reachable() == set(flow.order)


def test_diagram_has_swimlanes_phases_decisions_and_dashed_loops():
    catalog = load_paths([str(WORKFLOWS / "blog-article.yaml")])
    text = to_mermaid(catalog.workflows["blog-article"].workflow)
    assert text.startswith("flowchart TD\n")
    assert 'subgraph lane_orchestral["People (orchestral)"]' in text
    assert 'subgraph lane_algorithmic["Code (algorithmic)"]' in text
    assert '["Brief"]' in text and '["Publish"]' in text
    assert 's_approve -.->|"rejected"| s_draft' in text
    assert 's_seo[["SEO metadata<br/><small>automation</small>"]]' in text
    onboarding = load_paths([str(WORKFLOWS / "client-onboarding.yaml")]).workflows["client-onboarding"].workflow
    drawn = to_mermaid(onboarding)
    assert 's_qualify{"Which track?<br/><small>gate</small>"}' in drawn
    assert 's_qualify -->|"otherwise"| s_provision' in drawn


def test_diagram_labels_cannot_break_out_of_mermaid_syntax():
    wf = workflow('id: x\nsteps:\n  - {id: a, name: "say \\"hi\\" <b>", ask: starter}\n')
    assert 's_a["say #quot;hi#quot; #lt;b#gt;<br/><small>person</small>"]' in to_mermaid(wf)
