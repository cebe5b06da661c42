"""The two things `conductor` asks of the history: the stand-up report and the event log, each
as text in the format asked for. `now` is given (the command's clock; a test's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from bot.history.events import events_of
from bot.history.objects import objects_of
from bot.history.ocel import ocel_text
from bot.history.privacy import Privacy
from bot.history.source import cutoff, load
from bot.history.standups import report_csv, report_json, standup_rows
from bot.history.table import csv_text, event_rows
from bot.history.xes import xes_text

REPORT_FORMATS = ("csv", "json")
EXPORT_FORMATS = ("ocel", "xes", "csv")


def standup_report(engine: Engine, *, now: datetime, since: str = "30d", workflow_id: str | None = None,
                   fmt: str = "csv", include_private: bool = False) -> str:
    privacy = Privacy(include_private)
    history = load(engine, since=cutoff(now, since), workflow_id=workflow_id)
    rows = standup_rows(history, events_of(history, privacy), privacy)
    return report_json(rows, privacy) if fmt == "json" else report_csv(rows, privacy)


def history_export(engine: Engine, *, now: datetime, since: str = "90d", workflow_id: str | None = None,
                   fmt: str = "ocel", include_private: bool = False) -> str:
    privacy = Privacy(include_private)
    history = load(engine, since=cutoff(now, since), workflow_id=workflow_id)
    events = events_of(history, privacy)
    runs = list(history.runs.values())
    if fmt == "xes":
        return xes_text(runs, events)
    if fmt == "csv":
        return csv_text(event_rows(events))
    return ocel_text(events, objects_of(runs, events, privacy))
