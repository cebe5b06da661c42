"""Refusals of commands the engine does not decide (reload, steering a stand-up's schedule),
recorded in the audit log like the engine's own: a `refused` row with the code, the reason
and what was asked."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert

from bot.runtime import Runtime
from bot.store.models import AuditEvent


def audit_refusal(runtime: Runtime, actor: str, asked: str, reason: str, **details: str) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(insert(AuditEvent.__table__).values(
            run_id=None, step_id=None, actor=actor, type="refused", at=datetime.now(UTC),
            payload={"code": "not_allowed", "reason": reason, "event": {"type": asked, **details}},
        ))
