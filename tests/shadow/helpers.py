"""A shadowed workflow in a folder of its own, with candidates that agree, differ, fail and hang."""

from __future__ import annotations

import textwrap
from pathlib import Path

from sqlalchemy import select

from bot.shadow.tables import ShadowCase
from bot.shadow.worker import run_due_shadows
from tests.harness import Harness

CANDIDATES = '''
import os, time

def triage(ctx):
    title = ctx.params["title"]
    return {"team": title.split()[0].upper() + "!", "estimate": len(title) / 10,
            "labels": ["b", "a"], "note": "same", "shadowed": os.environ.get("CONDUCTOR_SHADOW", "")}

def wrong(ctx):
    return {"team": "nobody", "estimate": 99, "labels": ["z"], "note": "other"}

def broken(ctx):
    raise RuntimeError("the candidate broke")

def slow(ctx):
    time.sleep(30)
    return {}

def approve(ctx):
    return {"approved": ctx.params["amount"] < 100}

def route(ctx):
    return {"route": "small" if ctx.params["amount"] < 100 else "big"}
'''

WORKFLOW = '''
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
      uses: cands:approve
      with: {amount: "{{ inputs.amount }}"}
  - id: choose
    decide: leads
    routes:
      - {goto: small, label: Small}
      - {goto: big, label: Big}
    shadow:
      uses: cands:route
      with: {amount: "{{ inputs.amount }}"}
  - {id: small, ask: ops, next: end}
  - {id: big, ask: ops}
'''


def make_folder(tmp_path: Path, fn: str = "triage", timeout: str = "20s", workflow: str = WORKFLOW) -> Path:
    folder = tmp_path / "wf"
    folder.mkdir(exist_ok=True)
    (folder / "cands.py").write_text(textwrap.dedent(CANDIDATES))
    (folder / "shady.yaml").write_text(workflow % {"fn": fn, "timeout": timeout})
    return folder


def run_shadows(h: Harness, folder: Path) -> int:
    return run_due_shadows(h.service, h.versions, str(folder), h.now)


def cases(h: Harness) -> list[ShadowCase]:
    with h.sessions() as session:
        return list(session.scalars(select(ShadowCase).order_by(ShadowCase.id)))
