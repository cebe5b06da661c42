"""Junk shaped like Slack's payloads: JSON values of every kind, and valid payloads with one
part replaced by junk (the likeliest way a real payload goes wrong)."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from hypothesis import strategies as st

from bot.slack.blocks import actions as a
from tests.hostile.payloads import block_action, message, text_value, view_submission

KEYS = ["type", "user", "id", "actions", "action_id", "value", "action_ts", "block_id", "channel", "view",
        "callback_id", "private_metadata", "state", "values", "event", "event_id", "text", "thread_ts",
        "subtype", "bot_id", "channel_type", "tab", "trigger_id", "hash", "selected_option", "selected_options",
        "selected_user", "selected_date_time", "run_id", "step_id", "choice", "workflow_id", "given"]
TEXTS = ["", " ", "U01ANN", "C0WORK", "block_actions", "view_submission", "event_callback", "message",
         "app_home_opened", a.APPROVE, a.HELP, a.STEP_FORM, a.START_FORM, "note", "hostile", "{", "[1]",
         '{"run_id": "x", "step_id": "note"}', "<!channel>", "&lt;", "1e400", "nan", "-0", "٣", "𝟘",
         "x" * 300, "{{ 7*7 }}", "'; DROP TABLE runs; --"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                    st.sampled_from(TEXTS), st.text(max_size=20))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=5)),
    max_leaves=25,
)


def valid_payloads(run_id: str = "r7kq2m9x", thread: str = "1700000000.000100") -> list[dict[str, Any]]:
    """One payload of each kind the app reads, as Slack would send it."""
    value = a.action_value(run_id, "note")
    return [
        block_action("U01ANN", a.HELP, value),
        block_action("U01ANN", a.DECIDE, a.action_value(run_id, "note", choice="yes")),
        view_submission("U01ANN", a.STEP_FORM, {"run_id": run_id, "step_id": "note"}, {"note": text_value("x")}),
        view_submission("U01ANN", a.START_FORM, {"workflow_id": "hostile", "given": {"title": "t"}},
                        {"title": text_value("t")}),
        view_submission("U01ANN", a.REASSIGN_FORM, {"run_id": run_id, "step_id": "note"},
                        {"assignee": {"value": {"type": "users_select", "selected_user": "U02BOB"}}}),
        message("U01ANN", "a reply", "Ev1", thread_ts=thread),
        message("U01ANN", "a DM", "Ev2", channel="D0DM", channel_type="im"),
        {"type": "event_callback", "event_id": "Ev3", "event": {"type": "app_home_opened", "user": "U01ANN", "tab": "home"}},
    ]


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a part of `value` (the root included)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, prefix + (key,))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += paths(item, prefix + (n,))
    return found


def replaced(payload: dict[str, Any], path: tuple, junk: Any) -> Any:
    """A copy of `payload` with the part at `path` replaced by `junk` (or removed, for `...`)."""
    if not path:
        return junk
    result = copy.deepcopy(payload)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
    if junk is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = junk
    return result


def mutated(rng: random.Random, payload: dict[str, Any], junk: Any) -> Any:
    """`payload` with one part (chosen by `rng`) replaced by `junk` or removed."""
    path = rng.choice(paths(payload)[1:])
    return replaced(payload, path, ... if rng.random() < 0.25 else junk)


def random_junk(rng: random.Random, depth: int = 0) -> Any:
    """A JSON value from `rng` (seeded, for the HTTP fuzz, where hypothesis would be slow)."""
    roll = rng.random()
    if depth < 3 and roll < 0.15:
        return [random_junk(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 3 and roll < 0.3:
        return {rng.choice(KEYS): random_junk(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return rng.choice([None, True, False, 0, -1, 2**65, 1.5, *TEXTS, json.dumps({"run_id": [1]})])
