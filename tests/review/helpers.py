"""A workflow whose automated triage is reviewed by the `ops` role, and run ids found in and
out of its sample (the sample is a hash of the run and step ids, so these never change)."""

from __future__ import annotations

from pathlib import Path

from bot.engine.review import sampled

WORKFLOW = """
id: reviewed
channel: "#ops"
roles: {ops: [UOPS], leads: [ULEAD]}
permissions: {reassign: [leads]}
inputs:
  title: string
steps:
  - id: triage
    uses: automations.triage:guess
    with: {title: "{{ inputs.title }}"}
    outputs:
      team: string
      estimate: number
    review: {by: ops, sample: %(sample)s}
  - id: file
    ask: leads
    prompt: "File it with {{ steps.triage.outputs.team }} ({{ steps.triage.outputs.estimate }}d)"
"""

AUTOMATED = {"team": "backend", "estimate": 2}


def make_folder(tmp_path: Path, sample: str = "100%") -> Path:
    folder = tmp_path / "wf"
    folder.mkdir(exist_ok=True)
    (folder / "reviewed.yaml").write_text(WORKFLOW % {"sample": sample})
    return folder


def run_ids(sample: float, inside: bool, n: int = 1) -> list[str]:
    """The first `n` ids `run-0`, `run-1`, ... in (or out of) a `sample`% review of `triage`."""
    found = [f"run-{i}" for i in range(1000) if sampled(f"run-{i}", "triage", sample) is inside]
    return found[:n]
