"""What the soak finds once everything is quiet: runs lost or doubled, steps completed twice,
automation effects applied twice, Slack messages lost, doubled or out of order.

Everything is read from where it ended up: the database, the automations' ledger and the
fake Slack's conversations (each message carries its outbox key in its metadata)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bot.slack.messenger import METADATA_TYPE
from tests.fakeslack import FakeSlack

NOT_IDEMPOTENT = ("record", "publish")
IDEMPOTENT = ("sync",)


@dataclass
class Findings:
    counts: Counter = field(default_factory=Counter)
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def problem(self, kind: str, detail: str) -> None:
        self.counts[kind] += 1
        self.problems[kind].append(detail)

    def summary(self) -> str:
        lines = [f"  {kind}: {n}" for kind, n in sorted(self.counts.items())]
        for kind, details in self.problems.items():
            lines.append(f"  {kind}, for example: {details[:5]}")
        return "\n".join(lines)


def read_ledger(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect().execution_options(conductor_read_only=True) as conn:
        return conn.execute(text(sql)).all()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def check_runs(engine: Engine, tickets: int, found: Findings) -> dict[str, Any]:
    """Every ticket started exactly one run, and every run completed."""
    runs = {run_id: (_json(state), status) for run_id, state, status in _rows(engine, "select id, state, status from runs")}
    by_ticket: dict[Any, list[str]] = defaultdict(list)
    for run_id, (state, _) in runs.items():
        by_ticket[state["inputs"].get("ticket")].append(run_id)
    found.counts["runs found"] = len(runs)
    for ticket in range(tickets):
        if not by_ticket.get(ticket):
            found.problem("runs lost", f"ticket {ticket}")
        elif len(by_ticket[ticket]) > 1:
            found.problem("runs doubled", f"ticket {ticket}: {by_ticket[ticket]}")
    for run_id, (state, status) in runs.items():
        if status != "completed":
            stuck = {s: st["status"] for s, st in state["steps"].items() if st["status"] != "completed"}
            found.problem("runs not completed", f"{run_id} {status} {stuck}")
    return {run_id: state for run_id, (state, _) in runs.items()}


def check_steps(engine: Engine, found: Findings) -> None:
    """The soak's workflow has no loops: each step completes once, in one attempt."""
    for run_id, step_id, n in _rows(engine, "select run_id, step_id, count(*) from audit_events "
                                            "where type = 'step_completed' group by run_id, step_id having count(*) > 1"):
        found.problem("steps completed twice (audit)", f"{run_id}/{step_id} x{n}")
    for run_id, step_id, n in _rows(engine, "select run_id, step_id, count(*) from step_runs "
                                            "group by run_id, step_id having count(*) > 1"):
        found.problem("steps started twice (step_runs)", f"{run_id}/{step_id} x{n}")
    for run_id, step_id, status in _rows(engine, "select run_id, step_id, status from step_runs "
                                                 "where status != 'completed'"):
        found.problem("steps not completed (step_runs)", f"{run_id}/{step_id} {status}")


def check_effects(ledger: list[dict[str, Any]], runs: dict[str, Any], found: Findings) -> None:
    """Not idempotent: applied at most once (exactly once when the step completed).
    Idempotent: may be applied again, but only under the step attempt's own key."""
    applied: Counter = Counter()
    for entry in ledger:
        found.counts[f"automation calls ({entry['effect']})"] += 1
        expected_key = f"{entry['run']}:{entry['step']}:{entry['attempt']}"
        if entry["key"] != expected_key:
            found.problem("effects under a foreign key", f"{entry}")
        if entry["run"] not in runs:
            found.problem("effects of unknown runs", f"{entry}")
        if entry["effect"] == "applied":
            applied[(entry["run"], entry["step"], entry["attempt"])] += 1
    for (run_id, step_id, attempt), n in applied.items():
        if step_id in NOT_IDEMPOTENT and n > 1:
            found.problem("effects applied twice (not idempotent)", f"{run_id}/{step_id}#{attempt} x{n}")
        if step_id in IDEMPOTENT and n > 1:
            found.counts["idempotent effects repeated (allowed)"] += n - 1
    for run_id, state in runs.items():
        for step_id in NOT_IDEMPOTENT + IDEMPOTENT:
            st = state["steps"][step_id]
            if st["status"] == "completed" and not applied[(run_id, step_id, st["attempt"])]:
                found.problem("steps completed without their effect", f"{run_id}/{step_id}")


def check_messages(engine: Engine, fake: FakeSlack, found: Findings) -> None:
    """Each outbox post reached Slack exactly once (by the key in its metadata), and each
    channel shows them in the order they were written."""
    rows = _rows(engine, "select id, channel, kind, status, dedupe_key from outbox order by id")
    by_channel: dict[str, list[str]] = defaultdict(list)
    for row_id, channel, kind, status, key in rows:
        found.counts["outbox rows"] += 1
        if status != "sent":
            found.problem("messages not delivered", f"{row_id} {kind} {status} in {channel}")
        if kind != "update":
            by_channel[channel].append(key)
    keys = {key for keys in by_channel.values() for key in keys}
    seen: Counter = Counter()
    for channel, expected in by_channel.items():
        shown = [((m.get("metadata") or {}).get("event_payload") or {}).get("key")
                 for m in fake.messages(channel) if (m.get("metadata") or {}).get("event_type") == METADATA_TYPE]
        seen.update(shown)
        found.counts["messages in Slack"] += len(shown)
        firsts = list(dict.fromkeys(shown))
        if firsts != [key for key in expected if key in set(shown)]:
            found.problem("channels out of order", f"{channel}: expected {expected}, shown {firsts}")
    for key in keys:
        if seen[key] == 0:
            found.problem("messages lost", key)
        elif seen[key] > 1:
            found.problem("messages doubled", f"{key} x{seen[key]}")
    for key in seen.keys() - keys:
        found.problem("messages from nowhere", str(key))
