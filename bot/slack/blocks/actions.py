"""The interactive parts' names: action ids of buttons, callback ids of modals, and the values
that tell a handler which run and step a click is about."""

from __future__ import annotations

import json
from typing import Any

from bot.slack.blocks import text as t

# Buttons (`action_id`).
SUBMIT = "conductor_submit"
REASSIGN = "conductor_reassign"
HELP = "conductor_help"
APPROVE = "conductor_approve"
REJECT = "conductor_reject"
DECIDE = "conductor_decide"  # value carries `choice`; without one, the handler shows the choices
RETRY = "conductor_retry"
SKIP = "conductor_skip"
TAKE_OVER = "conductor_take_over"
ABORT = "conductor_abort"
STANDUP_ANSWER = "conductor_standup_answer"

# Modals (`callback_id`).
STEP_FORM = "conductor_step_form"
APPROVE_FORM = "conductor_approve_form"
TAKE_OVER_FORM = "conductor_take_over_form"
REJECT_FORM = "conductor_reject_form"
REASSIGN_FORM = "conductor_reassign_form"
START_FORM = "conductor_start_form"
DIAGNOSE_FORM = "conductor_diagnose_form"
STANDUP_FORM = "conductor_standup_form"

# Every input of a form has this action id; its block id is the field's name.
VALUE = "value"


def action_value(run_id: str, step_id: str | None, **extra: Any) -> str:
    """A button's value: compact JSON with `run_id`, `step_id` and any extra keys (`choice`)."""
    data: dict[str, Any] = {"run_id": run_id, "step_id": step_id}
    data.update({k: v for k, v in extra.items() if v is not None})
    value = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if len(value) > t.BUTTON_VALUE:
        raise ValueError("a button value must fit in 2,000 characters")
    return value


def parse_action_value(value: str | None) -> dict[str, Any]:
    """The inverse of `action_value`; also reads the plain `run_id|step_id` form. A value no
    button of ours could carry (too long, not text) is about nothing."""
    if not value or not isinstance(value, str) or len(value) > t.BUTTON_VALUE:
        return {"run_id": None, "step_id": None}
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        return {"run_id": data.get("run_id"), "step_id": data.get("step_id"),
                **{k: v for k, v in data.items() if k not in ("run_id", "step_id")}}
    run_id, _, step_id = value.partition("|")
    return {"run_id": run_id or None, "step_id": step_id or None}


def metadata(**data: Any) -> str:
    """A modal's `private_metadata`: compact JSON, at most 3,000 characters."""
    text = json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"),
                      ensure_ascii=False, default=str)
    if len(text) > t.PRIVATE_METADATA:
        raise ValueError("a modal's private_metadata must fit in 3,000 characters")
    return text


def parse_metadata(private_metadata: str | None) -> dict[str, Any]:
    """The inverse of `metadata`; anything our forms could not have written reads as `{}`."""
    if not isinstance(private_metadata, str) or len(private_metadata) > t.PRIVATE_METADATA:
        return {}
    try:
        data = json.loads(private_metadata or "{}")
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}
