"""Workflow versions: every loaded definition is stored, and runs keep the one they began on.

A run names a `workflow_versions` row. When the YAML changes, new runs take the new version;
runs already going on read their old source back from the database and finish on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from bot.definitions.loader import Catalog, LoadedWorkflow, load_bytes
from bot.definitions.workflow import Workflow
from bot.store.models import WorkflowVersion


@dataclass(frozen=True)
class Version:
    row_id: int
    version: str
    workflow: Workflow


class UnknownWorkflow(LookupError):
    pass


class WorkflowVersions:
    """The current version of each workflow, and a cache of every version runs still use."""

    def __init__(self) -> None:
        self._current: dict[str, Version] = {}
        self._by_row: dict[int, Version] = {}

    def register(self, session: Session, catalog: Catalog) -> None:
        """Make the catalog's workflows current (and Conductor's own built-in ones), storing
        versions the database has not seen."""
        from bot.definitions.builtin import builtin_catalog

        for loaded in [*builtin_catalog().workflows.values(), *catalog.workflows.values()]:
            self.register_one(session, loaded)

    def register_one(self, session: Session, loaded: LoadedWorkflow) -> Version:
        row = session.execute(
            select(WorkflowVersion).where(
                WorkflowVersion.workflow_id == loaded.id, WorkflowVersion.version == loaded.version
            )
        ).scalar_one_or_none()
        if row is None:
            row = WorkflowVersion(
                workflow_id=loaded.id, version=loaded.version, name=loaded.workflow.title,
                path=loaded.path, source=loaded.source,
            )
            session.add(row)
            session.flush()
        version = Version(row.id, loaded.version, loaded.workflow)
        self._current[loaded.id] = version
        self._by_row[row.id] = version
        return version

    def current(self, workflow_id: str) -> Version:
        try:
            return self._current[workflow_id]
        except KeyError:
            known = ", ".join(sorted(self._current)) or "none"
            raise UnknownWorkflow(f"no workflow `{workflow_id}` (known: {known})") from None

    def workflow_ids(self) -> list[str]:
        return sorted(self._current)

    def by_row(self, db: Session | Connection, row_id: int) -> Version:
        """The exact version a run began on, parsed again from its stored source if needed."""
        cached = self._by_row.get(row_id)
        if cached is not None:
            return cached
        session = db if isinstance(db, Session) else Session(bind=db)
        row = session.get(WorkflowVersion, row_id)
        if row is None:
            raise UnknownWorkflow(f"workflow version {row_id} is not in the database")
        loaded, problems = load_bytes(row.path, row.source.encode("utf-8"))
        if loaded is None:  # it loaded once; only a change of the language itself gets here
            raise UnknownWorkflow(f"stored version {row.version[:12]} of `{row.workflow_id}` no longer loads: "
                                  + "; ".join(p.format() for p in problems if p.is_error))
        version = Version(row.id, row.version, loaded.workflow)
        self._by_row[row_id] = version
        return version
