"""A person's gate whose choices follow a rule: the advisory suggests routes with conditions."""

from __future__ import annotations

import random
from pathlib import Path

from ruamel.yaml import YAML

from bot.definitions.loader import load_bytes
from bot.engine import events as ev
from bot.insights import collect_insights
from tests.harness import Harness

FOLDER = str(Path(__file__).resolve().parent / "decisions")


def test_a_decision_that_follows_the_amount(migrated_db_url):
    h = Harness(migrated_db_url, [FOLDER])
    rng = random.Random(3)
    try:
        for n in range(25):
            amount = rng.randint(10, 2000)
            run = h.start("refund", "U09FIN", amount=amount, reason=f"order {n}").run_id
            h.send(run, ev.Decide("route", "U09FIN", "Review" if amount > 1000 else "Fast track"))
            if amount > 1000:
                h.send(run, ev.Answer("review", "U09FIN", {"ok": True}))
            h.run_automations()
        report = collect_insights(h.engine, h.versions, now=h.now, workflow_id="refund")
    finally:
        h.close()
    step = {s["id"]: s for s in report.workflow("refund").steps}["route"]
    assert step["kind"] == "decision"
    [rule] = step["regularity"]
    assert rule["text"] == "`route` = review when `inputs.amount` > 1000, else pay: 25 of 25 runs"
    [advice] = [a for a in report.advisories if a.kind == "to_code" and a.step == "route"]
    assert advice.step == "route" and advice.evidence.count == 25
    suggested = YAML(typ="safe").load(advice.suggestion)[0]
    assert suggested["routes"] == [{"if": "inputs.amount > 1000", "goto": "review", "label": "Review"}]
    assert suggested["default"] == "pay"
    source = Path(FOLDER, "refund.yaml").read_text().replace(
        "    decide: finance\n    routes:\n      - {label: Review, goto: review}\n      - {label: Fast track, goto: pay}\n",
        "".join(f"  {line}\n" for line in advice.suggestion.splitlines()[3:]))
    loaded, problems = load_bytes("refund.yaml", source.encode())
    assert loaded is not None, [p.format() for p in problems]
