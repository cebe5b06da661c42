"""The objects an event log relates its events to: runs, step attempts, people and workflow
versions, each with its attributes (values only as the reader may see them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.history.events import FAMILY_KIND, HistoryEvent, is_person
from bot.history.privacy import Privacy
from bot.history.source import RunRecord

RUN, STEP, PERSON_TYPE, VERSION = "run", "step", "person", "workflow version"
OBJECT_TYPES = (RUN, STEP, PERSON_TYPE, VERSION)
Value = str | int | float | bool


@dataclass
class HistoryObject:
    id: str
    type: str
    attributes: list[tuple[str, Value, datetime]] = field(default_factory=list)  # (name, value, since)
    relationships: list[tuple[str, str]] = field(default_factory=list)  # (object id, qualifier)


def objects_of(runs: list[RunRecord], events: list[HistoryEvent], privacy: Privacy) -> list[HistoryObject]:
    """Every object the events name, in a stable order: versions, runs, steps, then people."""
    found: dict[str, HistoryObject] = {}
    people: set[str] = set()
    for run in runs:
        if run.version_id not in found:
            found[run.version_id] = HistoryObject(run.version_id, VERSION, [
                ("workflow", run.workflow_id, run.started_at), ("name", run.workflow.title, run.started_at),
                ("version", run.version, run.started_at)])
        obj = HistoryObject(run.id, RUN, [("workflow", run.workflow_id, run.started_at),
                                          ("status", run.status, run.finished_at or run.started_at)])
        obj.attributes += [(f"input.{name}", value, run.started_at)
                           for name, value in privacy.values(run.inputs).items()]
        obj.relationships.append((run.version_id, "runs on"))
        if is_person(run.started_by):
            obj.relationships.append((str(run.started_by), "started by"))
            people.add(str(run.started_by))
        found[run.id] = obj
    for event in events:
        step = event.step_object
        if step is not None and step not in found:
            found[step] = HistoryObject(step, STEP, [
                ("step", str(event.step_id), event.time), ("kind", FAMILY_KIND[event.run.workflow.step(str(event.step_id)).family], event.time),
                ("attempt", event.attempt or 1, event.time)], [(event.run.id, "part of")])
        people.update(p for p, _ in event.related)
        if event.actor:
            people.add(event.actor)
    ordered = sorted(found.values(), key=lambda o: (OBJECT_TYPES.index(o.type), o.id))
    return ordered + [HistoryObject(p, PERSON_TYPE) for p in sorted(people)]


def relationships_of(event: HistoryEvent) -> list[tuple[str, str]]:
    """(object id, qualifier) for every object an event involves."""
    related = [(event.run.id, "run"), (event.run.version_id, "workflow version")]
    if event.step_object is not None:
        related.append((event.step_object, "step"))
    if event.actor:
        related.append((event.actor, "actor"))
    related += [(p, q) for p, q in event.related if (p, q) not in related]
    return related
