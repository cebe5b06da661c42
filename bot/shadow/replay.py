"""Replaying a candidate against recorded cases, offline: each case's inputs in, the
candidate run in the sandbox (`http` stood in, nothing sent), its outputs compared with the
person's as the step's `shadow.compare` says (else exactly)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from bot.definitions.shadow import CompareMode
from bot.definitions.steps import USES_PATTERN
from bot.engine.shadow import compare_outputs, mode_name, wilson_lower_bound
from bot.shadow.runner import Candidate, run_candidate


def parse_candidate(spec: str, timeout_seconds: float = 60) -> Candidate:
    """`package.module:function` (uses), a JSON list or a command line (run, no shell)."""
    from datetime import timedelta

    text = spec.strip()
    timeout = timedelta(seconds=timeout_seconds)
    if text.startswith("["):
        argv = json.loads(text)
        if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
            raise ValueError("a JSON `run` must be a list of strings")
        return Candidate(run=argv, timeout=timeout)
    if re.match(USES_PATTERN, text) and not text.startswith("conductor/"):
        return Candidate(uses=text, timeout=timeout)
    argv = shlex.split(text)
    if not argv:
        raise ValueError("give `package.module:function` or a command")
    return Candidate(run=argv, timeout=timeout)


@dataclass
class Replayed:
    case: dict[str, Any]
    status: str
    outputs: dict[str, Any]
    error: str | None
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def agreed(self) -> bool:
        return self.status == "ok" and all(f["agree"] for f in self.fields.values())


@dataclass
class ReplayReport:
    replayed: list[Replayed]

    @property
    def agreed(self) -> int:
        return sum(r.agreed for r in self.replayed)

    def lines(self) -> list[str]:
        runs = len(self.replayed)
        if not runs:
            return ["no cases to replay"]
        failed = sum(r.status != "ok" for r in self.replayed)
        share = self.agreed / runs
        out = [f"replayed {runs} case{'s' if runs != 1 else ''}: {self.agreed} agree, "
               f"{runs - self.agreed - failed} disagree, {failed} failed — agreement {share:.1%} "
               f"(Wilson 95% lower bound {wilson_lower_bound(self.agreed, runs):.1%})"]
        for r in self.replayed:
            if r.agreed:
                continue
            where = f"run {r.case.get('run_id')} attempt {r.case.get('attempt')} ({r.case.get('source')})"
            if r.status != "ok":
                out.append(f"  {where}: candidate {r.status}: {r.error}")
                continue
            for name, f in r.fields.items():
                if not f["agree"]:
                    out.append(f"  {where}: {name}: person {f['person']!r} ≠ candidate {f['candidate']!r} ({f['mode']})")
        return out


def replay(cases: list[dict[str, Any]], candidate: Candidate, *, workflows_dir: str,
           modes: dict[str, CompareMode] | None = None, names: tuple[str, ...] = ()) -> ReplayReport:
    """Run `candidate` on every case and compare; nothing leaves the sandbox."""
    replayed = []
    for n, case in enumerate(cases):
        inputs = case.get("inputs") or {}
        params = {"with": inputs.get("with") or {}, "run": candidate.run, "env": dict(candidate.env)}
        result = run_candidate(candidate, step_id=str(case.get("step", "step")), attempt=int(case.get("attempt", 1)),
                               run_id=f"replay-{n}-{case.get('run_id', '')}", params=params,
                               inputs=inputs.get("inputs") or {}, outputs=inputs.get("steps") or {},
                               workflows_dir=workflows_dir)
        person = case.get("person") or {}
        fields = compare_outputs(modes or {}, names or tuple(person), person, result.outputs) if result.status == "ok" else {}
        replayed.append(Replayed(case, result.status, result.outputs, result.error, fields))
    return ReplayReport(replayed)


__all__ = ["ReplayReport", "mode_name", "parse_candidate", "replay"]
