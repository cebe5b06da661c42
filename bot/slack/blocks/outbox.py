"""One entry point for the messenger: an outbox payload and its run's context as a message."""

from __future__ import annotations

from typing import Any

from bot.engine.messages import HEADER, RunStarted
from bot.slack.blocks.header import header_info, render_header
from bot.slack.blocks.messages import render_message

HEADER_KINDS = (HEADER, RunStarted.kind)  # the run's first message is its header


def render_outbox(payload: dict[str, Any], context: dict[str, Any] | None = None) -> dict[str, Any]:
    """`{"text", "blocks"}` for an outbox payload. `context` may carry the run's `workflow`
    (a `Workflow`) and `state` (a `RunState`): with both, the header (and the run's first
    message, which becomes the header) shows the run's status, phase and progress. Raises
    `UnknownMessageKind` for a payload this release cannot read."""
    context = context or {}
    workflow = context.get("workflow")
    state = context.get("state")
    if payload.get("kind") in HEADER_KINDS and workflow is not None and state is not None:
        return render_header(header_info(workflow, state, payload.get("run_id")))
    return render_message(payload, workflow_title=workflow.title if workflow is not None else None)
