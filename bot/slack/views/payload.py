"""A form submission as plain, typed data; anything else is refused before a listener sees it.

`private_metadata` travels through the person's client and back, so it is read as untrusted:
only the keys our forms write, with the types they write, are kept. A run or step named there
is still only a request: the engine decides whether this person may act on it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from bot.slack.blocks.actions import parse_metadata
from bot.usecases.reads import plain_id

GIVEN_MAX = 50  # inputs a start form carries over from the command; ours carry a handful


@dataclass(frozen=True)
class Submission:
    user: str
    callback_id: str
    key: str  # the same view with the same values: Slack's resubmission, the same request
    values: dict[str, Any]  # view.state.values
    run_id: str | None = None
    step_id: str | None = None
    workflow_id: str | None = None
    given: dict[str, Any] = field(default_factory=dict)  # a start form's inputs from the command


def carries_view(body: dict[str, Any]) -> bool:
    """A form submission, or any payload with a `view` (Bolt reads it even to log that no
    listener handles the payload)."""
    return body.get("type") == "view_submission" or "view" in body


def problem(body: dict[str, Any]) -> str | None:
    """What makes a `view_submission` payload (or another payload's `view`) unreadable, or None."""
    if body.get("type") != "view_submission":
        return None if isinstance(body.get("view"), dict) else "the view is not an object"
    user = body.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user.get("id"):
        return "no user"
    view = body.get("view")
    if not isinstance(view, dict):
        return "no view"
    for key in ("id", "callback_id", "type"):
        if not isinstance(view.get(key), str) or not view.get(key):
            return f"the view has no `{key}`"
    for key in ("hash", "private_metadata"):
        if view.get(key) is not None and not isinstance(view.get(key), str):
            return f"the view's `{key}` is not text"
    state = view.get("state")
    if not isinstance(state, dict) or not isinstance(state.get("values"), dict):
        return "the view has no state"
    return None


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _given(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) > GIVEN_MAX:
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and _scalar(v)}


def read_submission(body: dict[str, Any], view: dict[str, Any]) -> Submission:
    """The submission in a payload `problem` accepted."""
    meta = parse_metadata(view.get("private_metadata"))
    # Slack re-sends a submission with the same values; a person correcting a refused form
    # sends the same view (same id and hash) with other values: a new request.
    values = json.dumps(view["state"]["values"], sort_keys=True, default=str)
    return Submission(
        user=body["user"]["id"],
        callback_id=view["callback_id"],
        key=f"view:{view['id']}:{view.get('hash')}:{hashlib.sha256(values.encode()).hexdigest()[:16]}",
        values=view["state"]["values"],
        run_id=plain_id(meta.get("run_id")),
        step_id=plain_id(meta.get("step_id")),
        workflow_id=plain_id(meta.get("workflow_id")),
        given=_given(meta.get("given")),
    )
