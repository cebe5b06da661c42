"""Leads steer a workflow's scheduled runs from chat: pause, resume, or skip the next one."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Engine, Table, select, update

from bot.store.models import SchedulePause
from bot.store.upserts import insert_or_ignore

# (`__table__` is typed as any FromClause; a mapped class's is its Table.)
PAUSES = cast(Table, SchedulePause.__table__)


def set_schedule(engine: Engine, workflow_id: str, actor: str, now: datetime, *, paused: bool | None = None,
                 skip_next: bool | None = None) -> None:
    values = {k: v for k, v in (("paused", paused), ("skip_next", skip_next)) if v is not None}
    with engine.begin() as conn:
        insert_or_ignore(conn, PAUSES, {"workflow_id": workflow_id, "paused": False, "skip_next": False,
                                        "changed_by": actor, "changed_at": now})
        conn.execute(update(PAUSES).where(PAUSES.c.workflow_id == workflow_id)
                     .values(changed_by=actor, changed_at=now, **values))


def take_scheduled_turn(engine: Engine, workflow_id: str) -> str | None:
    """Whether a scheduled run may start now: None if so, else why not (a skip is used up)."""
    with engine.begin() as conn:
        row = conn.execute(select(PAUSES.c.paused, PAUSES.c.skip_next).where(PAUSES.c.workflow_id == workflow_id)).first()
        if row is None:
            return None
        if row.paused:
            return "paused"
        if row.skip_next:
            conn.execute(update(PAUSES).where(PAUSES.c.workflow_id == workflow_id).values(skip_next=False))
            return "skipped once"
    return None
