"""Putting Conductor together: settings -> database -> workflows -> engine service -> clock.

One place builds the parts, so `conductor clock`, `conductor serve` and the tests assemble
the same thing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.definitions.loader import Catalog, load_paths
from bot.engine.people import StoredDirectory
from bot.engine.permissions import Directory
from bot.engine.service import ConductorService
from bot.engine.versions import WorkflowVersions
from bot.settings import Settings, admin_ids
from bot.store.db import make_engine, make_session_factory, session_scope
from bot.usecases import UseCases

log = logging.getLogger("conductor")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    versions: WorkflowVersions
    service: ConductorService
    catalog: Catalog

    def reload(self, catalog: Catalog | None = None) -> Catalog:
        """Load the workflow files again (or register `catalog`, loaded already). A file with
        errors is refused as a whole and its previous version keeps running; the problems are
        returned for people to fix."""
        catalog = catalog if catalog is not None else load_paths([self.settings.workflows_dir])
        with session_scope(self.sessions) as session:
            self.versions.register(session, catalog)
        self.catalog = catalog
        return catalog

    @cached_property
    def usecases(self) -> UseCases:
        """The one door over this runtime's engine service: admins from the settings, reload
        through the runtime (so the clock sees the new versions)."""
        return UseCases(self.service, admins=lambda: admin_ids(self.settings), reload=self.reload)

    def close(self) -> None:
        self.engine.dispose()


def build_runtime(
    settings: Settings, *, directory: Directory | None = None, clock: Callable[[], datetime] | None = None,
    catalog: Catalog | None = None,
) -> Runtime:
    """The parts, assembled. People (groups, time zones, away days) come from the tables the
    refresher fills from Slack (`bot.slack.people`), read into memory before each transaction;
    a `directory` given instead (tests pass a `StaticDirectory`) answers groups and time zones,
    and away days still come from the database. `catalog`: the workflows folder as a start-up
    check already loaded it, so it is not read twice."""
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    versions = WorkflowVersions()
    service = ConductorService(
        sessions, versions, StoredDirectory(engine, inner=directory),
        clock=clock or (lambda: datetime.now(UTC)), escalation_channel=settings.escalation_channel,
    )
    runtime = Runtime(settings, engine, sessions, versions, service, Catalog())
    catalog = runtime.reload(catalog)
    for problem in catalog.problems:
        log.warning("%s", problem.format())
    return runtime
