"""What every use case stands on: the engine service (its clock, its audit), the workflow
versions, the database sessions, and the two things the process decides (who the admins are,
how to load the workflow files again)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bot.definitions.loader import Catalog
from bot.engine.service import ConductorService
from bot.engine.versions import WorkflowVersions
from bot.store.db import READ_ONLY
from bot.store.models import AuditEvent
from bot.usecases.results import Refused


class Base:
    def __init__(self, service: ConductorService, *, admins: Callable[[], set[str]] = set,
                 reload: Callable[[], Catalog] | None = None):
        self.service = service
        self.versions: WorkflowVersions = service.versions
        self.sessions: sessionmaker[Session] = service.sessions
        # Sessions that only read: on SQLite they take no write lock, so a read of every active
        # run never makes a click wait (`bot.store.db.READ_ONLY`).
        self.reading: sessionmaker[Session] = sessionmaker(
            bind=service.engine.execution_options(**READ_ONLY), expire_on_commit=False)
        self._admins = admins
        self._reload = reload

    def now(self) -> datetime:
        """The service's clock: the wall clock in production, the rehearsal's in the shell."""
        return self.service.clock()

    def audit(self, type_: str, actor: str | None, payload: dict[str, Any] | None = None, *,
              run_id: str | None = None, step_id: str | None = None) -> None:
        """Record something a use case accepted that is not an engine event (a reload, a
        stand-up paused, an away period)."""
        with self.service.engine.begin() as conn:
            conn.execute(insert(AuditEvent.__table__).values(
                run_id=run_id, step_id=step_id, actor=actor, type=type_, payload=payload or {}, at=self.now()))

    def refuse(self, actor: str, asked: str, text: str, **details: str) -> Refused:
        """Refuse, audited the way the engine audits its own refusals."""
        self.service.record_refusal(actor, asked, text, **details)
        return Refused(text)
