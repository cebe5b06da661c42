"""A history with known properties, made by driving runs of `account-setup` through the real
service (tests/harness.py) on a fake clock, with answers drawn from a seeded random source.

What is planted, for `runs` runs (60 by default):
- `tier` (a person) answers `gold` when `inputs.seats` > 100, else `standard`, except in two
  runs (one of each way), so a rule reproduces `runs - 2` of them; its diagnostic says
  `repetitive: no`.
- `sync_crm` (an automation, two tries) fails both tries in 30% of the runs and is escalated;
  ops takes it over (or, in one run of six of those, skips it). In a tenth of the other runs
  the first try fails and the retry succeeds.
- `notes` (ops, free text) waits 8-30 hours: the longest wait of every run. Some runs are
  reassigned, some ask for help.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.engine import events as ev
from bot.engine.effects import RunAutomation
from tests.harness import Harness, fails

WORKFLOWS = str(Path(__file__).resolve().parent / "workflows")
WORKFLOW = "account-setup"
SALES, OPS, OTHER = "U06SALES", "U07OPS", "U08OPS"
NOISE = {17: (240, "standard"), 41: (30, "gold")}  # run number -> (seats, the tier answered anyway)


@dataclass
class Planted:
    run_ids: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    taken_over: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)  # runs whose tier breaks the rule
    reassigned: list[str] = field(default_factory=list)
    helped: list[str] = field(default_factory=list)


class Clocked(Harness):
    """The harness, with automations that take a few seconds of the fake clock each."""

    def __init__(self, url: str, seed: int):
        super().__init__(url, [WORKFLOWS])
        self.random = random.Random(seed)

    def _answer(self, run_id: str, request: RunAutomation) -> None:
        self.now += timedelta(seconds=self.random.randint(2, 40))
        super()._answer(run_id, request)


def make_history(url: str, runs: int = 60, seed: int = 7) -> tuple[Clocked, Planted]:
    """Drive `runs` runs to their end, one after another; returns the harness (its clock at the
    end) and what was planted."""
    h = Clocked(url, seed)
    rng = random.Random(seed)
    planted = Planted()
    failing = set(rng.sample(range(runs), round(0.3 * runs)))
    shaky = set(rng.sample(sorted(set(range(runs)) - failing), runs // 10))
    for n in range(runs):
        seats, tier = _tier(rng, n)
        result = h.start(WORKFLOW, SALES, company=f"Company {n:03d}", seats=seats, region=rng.choice(["eu", "us", "apac"]))
        run_id = result.run_id
        planted.run_ids.append(run_id)
        if n in NOISE:
            planted.exceptions.append(run_id)
        h.wait(timedelta(minutes=rng.randint(60, 240)))
        h.send(run_id, ev.Answer("tier", SALES, {"tier": tier}))
        tries = iter([fails(f"CRM answered 503 for account {rng.randint(1000, 9999)}")] * 2 if n in failing else
                     [fails(f"CRM timed out after {rng.randint(10, 30)} s")] if n in shaky else [])
        h.automations["sync_crm"] = lambda request, tries=tries, n=n: next(tries, {"crm_id": f"crm-{n:04d}"})
        h.wait(timedelta(minutes=5))
        if n in failing:
            planted.escalated.append(run_id)
            h.wait(timedelta(minutes=rng.randint(120, 360)))
            if len(planted.escalated) % 6 == 0:
                h.send(run_id, ev.Skip("sync_crm", OPS, "CRM down; filled in later"))
                planted.skipped.append(run_id)
            else:
                h.send(run_id, ev.TakeOver("sync_crm", OPS, {"crm_id": f"manual-{n:04d}"}))
                planted.taken_over.append(run_id)
        elif n in shaky:
            planted.retried.append(run_id)
        h.wait(timedelta(minutes=rng.randint(30, 120)))
        if n % 9 == 4:
            h.send(run_id, ev.AskForHelp("notes", OPS))
            planted.helped.append(run_id)
        notes_by = OPS
        if n % 11 == 3:
            h.send(run_id, ev.Reassign("notes", OPS, OTHER))
            planted.reassigned.append(run_id)
            notes_by = OTHER
        h.wait(timedelta(hours=rng.randint(8, 30)))
        words = " ".join(rng.choice(["call", "kick-off", "billing", "SSO", "training", "import"]) for _ in range(4))
        h.send(run_id, ev.Answer("notes", notes_by, {"summary": f"Company {n:03d}: {words}"}))
        h.wait(timedelta(minutes=rng.randint(5, 60)))
    return h, planted


def _tier(rng: random.Random, n: int) -> tuple[int, str]:
    if n in NOISE:
        return NOISE[n]
    if n == 0:
        return 100, "standard"  # the boundary itself, so the rule reads `> 100`
    if n == 1:
        return 101, "gold"
    seats = rng.randint(5, 95) if rng.random() < 0.5 else rng.randint(105, 400)
    return seats, "gold" if seats > 100 else "standard"
