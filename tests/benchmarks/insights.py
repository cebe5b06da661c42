"""`conductor insights` over a large history: seconds to collect the report.

A history of `account-setup` runs (tests/insights/workflows) is written straight into a fresh
database in bulk, shaped as the engine writes it: three step runs a run (a person's tier, an
automation that sometimes fails and is escalated, a person's notes), the audit rows of every
transition (run and step starts and ends, accepted answers, failures, escalations, take-overs,
reassignments, requests for help), and the timers (reminders, dispatches, retries). Then
`collect_insights` reads all of it, several times; the median is reported.

Target: 2 s for 100,000 step runs.

    python -m tests.benchmarks.insights [--step-runs 100000] [--repeat 5] [--postgres URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from bot.definitions.loader import load_paths
from bot.engine.versions import WorkflowVersions
from bot.insights import collect_insights
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import AuditEvent, Run, StepRun, Timer
from tests.benchmarks.setup import scratch_folder

TARGET_SECONDS = 2.0
WORKFLOWS = str(Path(__file__).resolve().parents[1] / "insights" / "workflows")
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
BATCH = 5000
RUNS, STEP_RUNS, AUDIT, TIMERS = (cast(Table, m.__table__) for m in (Run, StepRun, AuditEvent, Timer))


@dataclass(frozen=True)
class InsightsFigures:
    database: str
    step_runs: int
    runs: int
    audit_rows: int
    median_seconds: float  # wall time, the figure the target is about
    seconds: tuple[float, ...]
    advisories: int
    cpu_median_seconds: float = 0.0  # this process's CPU (the database server's own work is not in it)


def write_history(url: str, step_runs: int, seed: int = 1) -> tuple[WorkflowVersions, datetime, int, int]:
    """The history, in bulk; returns the versions, the moment after the last run, the runs
    and the audit rows written."""
    upgrade(url)
    engine = make_engine(url)
    versions = WorkflowVersions()
    with Session(engine) as session:
        versions.register(session, load_paths([WORKFLOWS]))
        session.commit()
    row = versions.current("account-setup").row_id
    rng = random.Random(seed)
    runs = -(-step_runs // 3)  # at least that many step runs, three a run
    rows: dict[str, list[dict[str, Any]]] = {"runs": [], "steps": [], "audit": [], "timers": []}
    audit_rows = 0
    at = START
    with engine.begin() as conn:
        for n in range(runs):
            at += timedelta(minutes=rng.randint(2, 6))
            audit_rows += _run(rows, rng, n, row, at)
            if len(rows["steps"]) >= BATCH:
                _flush(conn, rows)
        _flush(conn, rows)
    engine.dispose()
    return versions, at + timedelta(days=3), runs, audit_rows


def _flush(conn: Any, rows: dict[str, list[dict[str, Any]]]) -> None:
    for table, name in ((RUNS, "runs"), (STEP_RUNS, "steps"), (AUDIT, "audit"), (TIMERS, "timers")):
        if rows[name]:
            conn.execute(insert(table), rows[name])
            rows[name].clear()


def _run(rows: dict[str, list[dict[str, Any]]], rng: random.Random, n: int, version_row: int, start: datetime) -> int:
    run_id = f"r{n:07d}"
    seats = rng.randint(5, 400)
    tier = "gold" if seats > 100 else "standard"
    if rng.random() < 0.03:
        tier = "standard" if tier == "gold" else "gold"
    inputs = {"company": f"Company {n}", "seats": seats, "region": rng.choice(["eu", "us", "apac"])}
    audit: list[tuple[str | None, str, datetime, dict[str, Any], str | None]] = []  # step, type, at, payload, actor
    audit.append((None, "run_started", start, {"inputs": inputs}, "U06SALES"))
    t = start
    # tier: a person
    asked = t
    audit.append(("tier", "step_started", t, {"attempt": 1}, None))
    t += timedelta(minutes=rng.randint(20, 300))
    audit.append(("tier", "accepted", t, {"type": "Answer", "step_id": "tier", "actor": "U06SALES",
                                          "outputs": {"tier": tier}}, "U06SALES"))
    audit.append(("tier", "step_completed", t, {"reason": None, "route": None}, "U06SALES"))
    steps = [_step(run_id, "tier", "completed", "U06SALES", {"tier": tier}, None, asked, t)]
    timers = [_timer(run_id, "tier", "reminder", asked + timedelta(hours=4), None if t < asked + timedelta(hours=4)
                     else asked + timedelta(hours=4))]
    # sync_crm: an automation; fails both tries in a quarter of runs, once in a tenth
    began = t
    audit.append(("sync_crm", "step_started", t, {"attempt": 1}, None))
    roll = rng.random()
    failures = 2 if roll < 0.25 else 1 if roll < 0.35 else 0
    status, outputs, error, actor = "completed", {"crm_id": f"crm-{n}"}, None, None
    for k in range(1, failures + 1):
        timers.append(_timer(run_id, "sync_crm", "dispatch", t, t, key=f"{run_id}:sync_crm:1:try:{k}"))
        t += timedelta(seconds=rng.randint(2, 40))
        error = f"CRM answered 503 for account {rng.randint(1000, 9999)}"
        audit.append(("sync_crm", "automation_failed", t, {"error": error, "retryable": True, "try_number": k}, None))
        if k < 2:
            timers.append(_timer(run_id, "sync_crm", "retry", t + timedelta(minutes=1), t + timedelta(minutes=1), k))
            t += timedelta(minutes=1)
    if failures == 2:
        audit.append(("sync_crm", "escalated", t, {"error": error}, None))
        t += timedelta(minutes=rng.randint(60, 600))
        actor = "U07OPS"
        if rng.random() < 0.2:
            status, outputs = "skipped", None
            audit.append(("sync_crm", "accepted", t, {"type": "Skip", "step_id": "sync_crm"}, actor))
        else:
            audit.append(("sync_crm", "taken_over", t, {}, actor))
            audit.append(("sync_crm", "accepted", t, {"type": "TakeOver", "step_id": "sync_crm"}, actor))
    else:
        timers.append(_timer(run_id, "sync_crm", "dispatch", t, t, key=f"{run_id}:sync_crm:1:try:{failures + 1}"))
        t += timedelta(seconds=rng.randint(2, 40))
        error = None
    audit.append(("sync_crm", f"step_{status}", t, {"reason": None, "route": None}, actor))
    steps.append(_step(run_id, "sync_crm", status, None, outputs, error, began, t))
    # notes: a person, now and then reassigned or helped
    asked = t
    audit.append(("notes", "step_started", t, {"attempt": 1}, None))
    if rng.random() < 0.1:
        audit.append(("notes", "help_requested", t + timedelta(hours=1), {}, "U07OPS"))
    if rng.random() < 0.1:
        audit.append(("notes", "accepted", t + timedelta(hours=2),
                      {"type": "Reassign", "step_id": "notes", "actor": "U07OPS", "assignee": "U08OPS"}, "U07OPS"))
    t += timedelta(hours=rng.randint(8, 30))
    summary = f"Company {n}: " + " ".join(rng.choice(["call", "SSO", "billing", "import"]) for _ in range(4))
    audit.append(("notes", "accepted", t, {"type": "Answer", "step_id": "notes", "outputs": {"summary": summary}},
                  "U07OPS"))
    audit.append(("notes", "step_completed", t, {"reason": None, "route": None}, "U07OPS"))
    audit.append((None, "run_completed", t, {"reason": None}, None))
    steps.append(_step(run_id, "notes", "completed", "U07OPS", {"summary": summary}, None, asked, t))
    rows["runs"].append({"id": run_id, "workflow_id": "account-setup", "workflow_version_id": version_row,
                         "status": "completed", "phase": "Review", "inputs": inputs, "state": {},
                         "started_by": "U06SALES", "channel": "C0TEST", "created_at": start, "updated_at": t,
                         "finished_at": t, "lock_version": 0})
    rows["steps"] += steps
    rows["timers"] += timers
    rows["audit"] += [{"run_id": run_id, "step_id": s, "type": kind, "at": when, "payload": payload, "actor": who}
                      for s, kind, when, payload, who in audit]
    return len(audit)


def _step(run_id: str, step_id: str, status: str, assignee: str | None, outputs: dict[str, Any] | None,
          error: str | None, started: datetime, finished: datetime) -> dict[str, Any]:
    return {"run_id": run_id, "step_id": step_id, "attempt": 1, "status": status, "assignee": assignee,
            "outputs": outputs, "error": error, "started_at": started, "finished_at": finished, "updated_at": finished}


def _timer(run_id: str, step_id: str, kind: str, due: datetime, fired: datetime | None, suffix: object = 0,
           key: str | None = None) -> dict[str, Any]:
    return {"run_id": run_id, "step_id": step_id, "kind": kind, "due_at": due, "fired_at": fired,
            "cancelled_at": None if fired else due, "payload": {},
            "key": key or f"{run_id}:{step_id}:1:{kind}:{suffix}"}


def measure_one(name: str, url: str, step_runs: int, repeat: int) -> InsightsFigures:
    versions, now, runs, audit_rows = write_history(url, step_runs)
    engine = make_engine(url)
    seconds: list[float] = []
    cpu: list[float] = []
    advisories = 0
    try:
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            report = collect_insights(engine, versions, now=now, since=timedelta(days=365))
            seconds.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            advisories = len(report.advisories)
    finally:
        engine.dispose()
    return InsightsFigures(name, runs * 3, runs, audit_rows, statistics.median(seconds), tuple(seconds), advisories,
                           statistics.median(cpu))


def measure(step_runs: int = 100_000, *, repeat: int = 5, postgres_url: str | None = None,
            workdir: Path | None = None) -> list[InsightsFigures]:
    """One row per database: SQLite always, PostgreSQL when `postgres_url` is given (in a
    throwaway schema)."""
    found = [measure_one("sqlite", f"sqlite:///{scratch_folder(workdir)}/bench.db", step_runs, repeat)]
    if postgres_url:
        from tests.dbutil import fresh_postgres_schema

        with ExitStack() as stack:
            url = stack.enter_context(fresh_postgres_schema(postgres_url))
            found.append(measure_one("postgresql", url, step_runs, repeat))
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step-runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=None, help="also on this PostgreSQL database (a throwaway schema)")
    args = parser.parse_args(argv)
    for f in measure(args.step_runs, repeat=args.repeat, postgres_url=args.postgres):
        verdict = "within" if f.median_seconds <= TARGET_SECONDS else "over"
        print(f"insights, {f.database}: {f.step_runs:,} step runs ({f.runs:,} runs, {f.audit_rows:,} audit rows): "
              f"median {f.median_seconds:.2f} s of {len(f.seconds)} ({verdict} the {TARGET_SECONDS:g} s target; "
              f"{f.cpu_median_seconds:.2f} s of this process's CPU); "
              f"{f.advisories} advisories")


if __name__ == "__main__":
    main()
