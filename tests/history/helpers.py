"""What the history tests share: the report's and the export's text, read at a fixed moment."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import text

from bot.history.exports import history_export, standup_report

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # the day after; never the wall clock


def report(h, **options) -> str:
    return standup_report(h.engine, now=NOW, **options)


def export(h, fmt: str, **options) -> str:
    return history_export(h.engine, now=NOW, fmt=fmt, **options)


def rows(csv_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text)))


def version_of(h, workflow_id: str) -> str:
    """The workflow version object's id: `workflow@first 12 digits of the YAML's SHA-256`."""
    with h.engine.connect() as conn:
        sha = conn.execute(text("SELECT version FROM workflow_versions WHERE workflow_id = :w"),
                           {"w": workflow_id}).scalar_one()
    return f"{workflow_id}@{sha[:12]}"


def blocker_runs(h) -> list[str]:
    with h.engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM runs WHERE workflow_id = 'blocker-handoff' "
                                      "ORDER BY created_at, id")).scalars())
