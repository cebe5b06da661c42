"""`conductor insights`: the settings' database and workflows, read into a report, rendered."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.settings import Settings

FORMATS = ("text", "json", "csv")


def run_insights(settings: Settings, *, workflow_id: str | None = None, since: str = "90d", fmt: str = "text",
                 min_runs: int = 20, now: datetime | None = None) -> str:
    """The report as `fmt` text. A bad `since`, database or workflows folder is a start-up
    problem (one line naming the setting and the fix)."""
    from sqlalchemy.orm import Session

    from bot.definitions.values import parse_duration
    from bot.engine.versions import WorkflowVersions
    from bot.insights import collect_insights, render
    from bot.preflight import StartupProblem, ensure_schema, load_workflows
    from bot.store.db import make_engine

    try:
        window = parse_duration(since)
    except ValueError:
        raise StartupProblem("--since", f"`{since}` is not a duration", "write 90d, 2w or 12h") from None
    if fmt not in FORMATS:
        raise StartupProblem("--format", f"`{fmt}` is not a format", f"use one of {', '.join(FORMATS)}")
    ensure_schema(settings.database_url)
    catalog = load_workflows(settings.workflows_dir)
    engine = make_engine(settings.database_url)
    try:
        versions = WorkflowVersions()
        with Session(engine) as session:  # read only: the versions are not stored here
            versions.register(session, catalog)
            session.rollback()
        if workflow_id is not None and workflow_id not in versions.workflow_ids():
            known = ", ".join(versions.workflow_ids())
            raise StartupProblem("--workflow", f"no workflow `{workflow_id}`", f"use one of {known}")
        at = now or datetime.now(UTC)
        report = collect_insights(engine, versions, now=at, since=window, workflow_id=workflow_id, min_runs=min_runs)
    finally:
        engine.dispose()
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    return render.csv(report) if fmt == "csv" else render.text(report)
