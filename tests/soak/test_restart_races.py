"""Races at a restart that the crash soak points at, made to happen on purpose.

When `conductor serve` comes back, Slack's requests (redelivered while it was down) arrive
while its clock is still starting. A step such a request starts must not be taken for an
automation the dead process left running: that would escalate it (or, idempotent, run it
twice) although nothing was interrupted.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from bot.engine import events as ev
from bot.runtime import build_runtime
from bot.scheduling.clock import Clock
from bot.settings import Settings
from tests.soak.checks import read_ledger

WORKFLOWS = Path(__file__).parent / "workflows"


def _wait(probe, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(0.02)
    return False


def test_a_step_started_while_the_clock_starts_is_not_recovered(migrated_db_url, tmp_path, monkeypatch):
    ledger = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("SOAK_LEDGER", str(ledger))
    runtime = build_runtime(Settings(database_url=migrated_db_url, workflows_dir=str(WORKFLOWS)))
    service = runtime.service
    run_id = service.start("soak", "U0SOAKANA", {"ticket": 1}, channel="C0SOAK0001").run_id
    clock = Clock(service, runtime.versions, workflows_dir=str(WORKFLOWS), max_workers=2)

    def scalar(sql: str):
        with runtime.engine.connect() as conn:
            return conn.execute(text(sql), {"run": run_id}).scalar()

    recover = service.recover_interrupted

    def recovery_meets_a_reply(now=None):
        # The web side takes the brief (a thread reply) just as the clock looks for leftovers.
        assert service.handle(run_id, ev.Answer("brief", "U0SOAKANA", {"note": "n"})).accepted
        _wait(lambda: scalar("select count(*) from timers where run_id = :run and kind = 'dispatch' "
                             "and fired_at is not null"), 1.0)  # claimed here and now, if claims run yet
        return recover(now)

    monkeypatch.setattr(service, "recover_interrupted", recovery_meets_a_reply)
    clock.start()
    try:
        assert _wait(lambda: scalar("select status from step_runs where run_id = :run and step_id = 'record'")
                     in ("completed", "escalated"), 10.0)
        assert scalar("select status from step_runs where run_id = :run and step_id = 'record'") == "completed"
        assert scalar("select count(*) from audit_events where run_id = :run and type = 'escalated'") == 0
        time.sleep(0.3)  # a second, wrongly recovered try would have written its line by now
        assert [e["step"] for e in read_ledger(ledger)] == ["record"]
    finally:
        clock.shutdown(wait=True)
        runtime.close()
