"""The history as CSV: one event per line, in the order they happened."""

from __future__ import annotations

import csv
import io
import json

from bot.history.events import HistoryEvent
from bot.history.ocel import iso

COLUMNS = ("event_id", "time", "activity", "run_id", "workflow", "workflow_version", "step_id", "step_kind",
           "attempt", "actor", "actor_kind", "related", "attributes")


def event_rows(events: list[HistoryEvent]) -> list[dict[str, str]]:
    return [{
        "event_id": e.id, "time": iso(e.time), "activity": e.activity, "run_id": e.run.id,
        "workflow": e.run.workflow_id, "workflow_version": e.run.version_id, "step_id": e.step_id or "",
        "step_kind": e.step_kind or "", "attempt": str(e.attempt) if e.step_id and e.attempt else "",
        "actor": e.actor or "", "actor_kind": e.actor_kind,
        "related": " ".join(f"{qualifier}:{person}" for person, qualifier in e.related),
        "attributes": json.dumps(e.attributes, sort_keys=True, ensure_ascii=False) if e.attributes else "",
    } for e in events]


def csv_text(rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
