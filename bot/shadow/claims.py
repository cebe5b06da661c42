"""Handing out shadow runs to the clock, and taking their results back.

A shadow's row (kind `shadow`, see `bot.engine.journal`) is claimed under a lease: claiming
moves its due time past the shadow's timeout instead of marking it done. The row is retired
only when the result is applied (`ShadowFinished`, under the row's key), so a clock that dies
mid-run leaves the row to be claimed again once the lease is over, and a result that arrives
twice is applied once. A shadow runs in a sandbox, so running one again does no harm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.engine.journal import RUNS, SHADOW, TIMERS, dispatch_params
from bot.engine.service import ConductorService, Result
from bot.engine.shadow import slot_key
from bot.engine.state import RunState


@dataclass(frozen=True)
class ShadowDispatch:
    """A shadow run claimed for running."""

    run_id: str
    version_row_id: int
    step_id: str
    attempt: int
    key: str
    params: dict[str, Any] = field(default_factory=dict)  # rendered, secret references marked
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # earlier steps' outputs


def claim_shadows(service: ConductorService, now: datetime, limit: int = 50) -> list[ShadowDispatch]:
    """Take the shadow runs due (new ones, and those whose lease ran out)."""
    claimed: list[ShadowDispatch] = []
    with service.engine.begin() as conn:
        rows = conn.execute(
            select(TIMERS.c.run_id, TIMERS.c.step_id, TIMERS.c.key, TIMERS.c.payload)
            .where(TIMERS.c.kind == SHADOW, TIMERS.c.due_at <= now,
                   TIMERS.c.fired_at.is_(None), TIMERS.c.cancelled_at.is_(None))
            .order_by(TIMERS.c.due_at).limit(limit).with_for_update(skip_locked=True)
        ).all()
        for run_id, step_id, key, payload in rows:
            run = conn.execute(select(RUNS.c.state, RUNS.c.workflow_version_id).where(RUNS.c.id == run_id)).one_or_none()
            state = RunState.from_json(run.state) if run is not None else None
            slot = state.shadows.get(slot_key(step_id, payload["attempt"])) if state is not None else None
            if run is None or state is None or slot is None or slot.get("status") != "pending":
                conn.execute(update(TIMERS).where(TIMERS.c.key == key).values(cancelled_at=now))
                continue
            lease = timedelta(seconds=int(payload.get("lease_seconds", 120)))
            conn.execute(update(TIMERS).where(TIMERS.c.key == key).values(due_at=now + lease))
            outputs = {sid: s.outputs for sid, s in state.steps.items() if s.outputs is not None}
            claimed.append(ShadowDispatch(run_id, run.workflow_version_id, step_id, payload["attempt"], key,
                                          dispatch_params(payload), state.inputs, outputs))
    return claimed


def record_shadow(service: ConductorService, dispatch: ShadowDispatch, status: str, outputs: dict[str, Any],
                  error: str | None) -> Result:
    """Apply a shadow's result to its run, once (under the row's key)."""
    from bot.engine import events as ev

    event = ev.ShadowFinished(dispatch.step_id, dispatch.attempt, status, outputs, error)
    return service.handle(dispatch.run_id, event, key=f"shadow:{dispatch.key}")
