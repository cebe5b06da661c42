"""What every benchmark starts from: one workflow file, a migrated database, the service; and
the percentile they all report."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bot.definitions.loader import load_paths
from bot.engine.permissions import Directory, StaticDirectory
from bot.engine.service import ConductorService
from bot.engine.versions import WorkflowVersions
from bot.store.db import make_engine, make_session_factory, session_scope
from bot.store.migrate import upgrade


def scratch_folder(workdir: Path | None = None) -> Path:
    """A new empty folder inside `workdir` (the system's temporary folder when None)."""
    return Path(tempfile.mkdtemp(dir=workdir))


def service_for(workflow_yaml: str, *, url: str | None = None, directory: Directory | None = None,
                workdir: Path | None = None) -> tuple[ConductorService, WorkflowVersions, Path]:
    """The real service on a fresh database (SQLite in a new folder inside `workdir` unless
    `url` is given, migrated to head) with `workflow_yaml` loaded. Dispose of `service.engine` after."""
    folder = scratch_folder(workdir)
    (folder / "workflow.yaml").write_text(workflow_yaml)
    url = url or f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    versions = WorkflowVersions()
    with session_scope(sessions) as session:
        versions.register(session, load_paths([str(folder)]))
    return ConductorService(sessions, versions, directory or StaticDirectory()), versions, folder


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile, interpolated between the samples (never beyond the largest one,
    which the default method does on small samples)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
