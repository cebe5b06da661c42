"""The history as an XES event log (IEEE 1849): one trace per run, its events in order, with
the standard extensions Concept (names), Time (timestamps), Organizational (who) and Lifecycle
(the transition each event is in the standard lifecycle model)."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from bot.history.events import HistoryEvent
from bot.history.source import RunRecord

XES_NS = "http://www.xes-standard.org/"
EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
)
CODE_RESOURCE = "conductor"  # org:resource of what code did
# The standard lifecycle model's transition for each activity; the rest `complete`.
LIFECYCLE = {
    "run started": "start",
    "step asked": "assign",
    "step reassigned": "reassign",
    "automation tried": "start",
    "automation failed": "ate_abort",
    "step escalated": "suspend",
    "retry asked": "resume",
    "step taken over": "resume",
    "step skipped": "manualskip",
    "step failed": "ate_abort",
    "step cancelled": "withdraw",
}


def xes_time(at: datetime) -> str:
    """xs:dateTime in UTC with milliseconds, as XES tools read it."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+00:00"


def lifecycle(event: HistoryEvent) -> str:
    if event.activity == "step skipped" and not event.actor:
        return "autoskip"
    return LIFECYCLE.get(event.activity, "complete")


def _attribute(parent: ET.Element, key: str, value: str | int | float | bool) -> None:
    if isinstance(value, bool):
        ET.SubElement(parent, "boolean", key=key, value="true" if value else "false")
    elif isinstance(value, int):
        ET.SubElement(parent, "int", key=key, value=str(value))
    elif isinstance(value, float):
        ET.SubElement(parent, "float", key=key, value=repr(value))
    else:
        ET.SubElement(parent, "string", key=key, value=value)


def to_xes(runs: list[RunRecord], events: list[HistoryEvent]) -> ET.Element:
    log = ET.Element("log", {"xes.version": "1849-2016", "xmlns": XES_NS})
    for name, prefix, uri in EXTENSIONS:
        ET.SubElement(log, "extension", name=name, prefix=prefix, uri=uri)
    trace_global = ET.SubElement(log, "global", scope="trace")
    _attribute(trace_global, "concept:name", "__INVALID__")
    event_global = ET.SubElement(log, "global", scope="event")
    _attribute(event_global, "concept:name", "__INVALID__")
    ET.SubElement(event_global, "date", key="time:timestamp", value="1970-01-01T00:00:00.000+00:00")
    _attribute(event_global, "lifecycle:transition", "complete")
    _attribute(event_global, "org:resource", CODE_RESOURCE)
    ET.SubElement(log, "classifier", name="Activity", keys="concept:name")
    ET.SubElement(log, "classifier", name="Activity and transition", keys="concept:name lifecycle:transition")
    _attribute(log, "concept:name", "Conductor history")
    by_run: dict[str, list[HistoryEvent]] = {run.id: [] for run in runs}
    for event in events:
        by_run.setdefault(event.run.id, []).append(event)
    for run in runs:
        trace = ET.SubElement(log, "trace")
        _attribute(trace, "concept:name", run.id)
        _attribute(trace, "workflow", run.workflow_id)
        _attribute(trace, "workflow_version", run.version_id)
        _attribute(trace, "status", run.status)
        for event in by_run[run.id]:
            element = ET.SubElement(trace, "event")
            _attribute(element, "concept:name", event.activity)
            ET.SubElement(element, "date", key="time:timestamp", value=xes_time(event.time))
            _attribute(element, "org:resource", event.actor or CODE_RESOURCE)
            _attribute(element, "lifecycle:transition", lifecycle(event))
            _attribute(element, "actor_kind", event.actor_kind)
            if event.step_id:
                _attribute(element, "step", event.step_id)
                _attribute(element, "step_kind", str(event.step_kind))
                _attribute(element, "attempt", event.attempt or 1)
            for person, qualifier in event.related:
                _attribute(element, qualifier, person)
            for name, value in event.attributes.items():
                _attribute(element, name, value)
    return log


def xes_text(runs: list[RunRecord], events: list[HistoryEvent]) -> str:
    root = to_xes(runs, events)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
