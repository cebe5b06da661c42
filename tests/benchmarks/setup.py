"""What every benchmark starts from: one workflow file, a migrated database, the service."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bot.definitions.loader import load_paths
from bot.engine.permissions import Directory, StaticDirectory
from bot.engine.service import ConductorService
from bot.engine.versions import WorkflowVersions
from bot.store.db import make_engine, make_session_factory, session_scope
from bot.store.migrate import upgrade


def service_for(workflow_yaml: str, *, url: str | None = None,
                directory: Directory | None = None) -> tuple[ConductorService, WorkflowVersions, Path]:
    """The real service on a fresh database (SQLite in a temporary folder unless `url` is
    given, migrated to head) with `workflow_yaml` loaded. Dispose of `service.engine` after."""
    folder = Path(tempfile.mkdtemp())
    (folder / "workflow.yaml").write_text(workflow_yaml)
    url = url or f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    versions = WorkflowVersions()
    with session_scope(sessions) as session:
        versions.register(session, load_paths([str(folder)]))
    return ConductorService(sessions, versions, directory or StaticDirectory()), versions, folder
