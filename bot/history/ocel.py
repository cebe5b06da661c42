"""The history as an OCEL 2.0 event log, in the standard's JSON format: `objectTypes` and
`eventTypes` (each with its attributes' names and types), `objects` (attributes with the time
they held from, relationships to other objects) and `events` (time, attributes, and the objects
each involves, with a qualifier)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.history.events import ACTIVITIES, HistoryEvent
from bot.history.objects import OBJECT_TYPES, HistoryObject, Value, relationships_of


def iso(at: datetime) -> str:
    """An aware time as ISO 8601 in UTC, `Z` for the zone."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def attribute_type(value: Value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    return "string"


def event_attributes(event: HistoryEvent) -> dict[str, Value]:
    attributes: dict[str, Value] = {"actor_kind": event.actor_kind}
    return {**attributes, **event.attributes}


def to_ocel(events: list[HistoryEvent], objects: list[HistoryObject]) -> dict[str, Any]:
    event_types: dict[str, dict[str, str]] = {}
    for event in events:
        declared = event_types.setdefault(event.activity, {})
        for name, value in event_attributes(event).items():
            declared.setdefault(name, attribute_type(value))
    object_types: dict[str, dict[str, str]] = {name: {} for name in OBJECT_TYPES}
    for obj in objects:
        for name, value, _ in obj.attributes:
            object_types[obj.type].setdefault(name, attribute_type(value))
    return {
        "objectTypes": [_type(name, attrs) for name, attrs in object_types.items()],
        "eventTypes": [_type(name, event_types[name]) for name in ACTIVITIES if name in event_types],
        "objects": [
            {"id": obj.id, "type": obj.type,
             "attributes": [{"name": name, "time": iso(since), "value": value} for name, value, since in obj.attributes],
             "relationships": [{"objectId": target, "qualifier": qualifier} for target, qualifier in obj.relationships]}
            for obj in objects
        ],
        "events": [
            {"id": event.id, "type": event.activity, "time": iso(event.time),
             "attributes": [{"name": name, "value": value} for name, value in event_attributes(event).items()],
             "relationships": [{"objectId": target, "qualifier": qualifier}
                               for target, qualifier in relationships_of(event)]}
            for event in events
        ],
    }


def _type(name: str, attributes: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "attributes": [{"name": n, "type": t} for n, t in attributes.items()]}


def ocel_text(events: list[HistoryEvent], objects: list[HistoryObject]) -> str:
    return json.dumps(to_ocel(events, objects), indent=2, ensure_ascii=False) + "\n"
