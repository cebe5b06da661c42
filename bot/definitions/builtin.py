"""Workflows Conductor brings with it. They load like any file, so the same rules check them."""

from __future__ import annotations

from functools import lru_cache

from bot.definitions.loader import Catalog, load_bytes

BLOCKER_HANDOFF = "blocker-handoff"

# A stand-up blocker becomes work with an owner: the reporting workflow's conductor.
_SOURCES = {
    BLOCKER_HANDOFF: """
id: blocker-handoff
name: Blocker
description: A blocker raised at a stand-up, handed to whoever conducts the team.
on:
  command: false
inputs:
  owner: {type: string, label: Who owns it (a user or user-group ID)}
  reported_by: {type: user}
  blocker: {type: text}
  standup: {type: string, label: The stand-up run}
steps:
  - id: unblock
    name: Unblock
    ask: "{{ inputs.owner }}"
    prompt: "<@{{ inputs.reported_by }}> is blocked (stand-up `{{ inputs.standup }}`): {{ inputs.blocker }}"
    outputs:
      resolution: {type: text, label: What was done}
    remind: [4h, 1d]
""",
}


@lru_cache(maxsize=1)
def builtin_catalog() -> Catalog:
    catalog = Catalog()
    for workflow_id, source in _SOURCES.items():
        loaded, problems = load_bytes(f"<builtin:{workflow_id}>", source.encode())
        assert loaded is not None, [p.format() for p in problems]  # shipped, so tested
        catalog.workflows[workflow_id] = loaded
    return catalog
