"""What templates see at a point of a run, and rendering with it.

Secret references (`${{ secrets.NAME }}`) are kept as references: the engine never sees a
secret's value; the automation runner puts values in just before it calls out.
"""

from __future__ import annotations

import re
from typing import Any

from bot.definitions import templates
from bot.definitions.workflow import Workflow
from bot.engine.state import RunState

_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.DOTALL)
_SENTINEL = "\x00secret:{}\x00"
_SENTINEL_RE = re.compile(r"\x00secret:([A-Za-z_][A-Za-z0-9_]*)\x00")


def template_context(workflow: Workflow, state: RunState) -> dict[str, Any]:
    steps = {
        step_id: {
            "outputs": step.outputs or {},
            "status": step.status.value,
            "route": step.route,
            "actor": step.actor,
            "reason": step.reason,
            "attempt": step.attempt,
        }
        for step_id, step in state.steps.items()
    }
    return {
        "inputs": state.inputs,
        "steps": steps,
        "run": {
            "id": state.run_id,
            "started_by": state.started_by,
            "started_at": state.started_at.isoformat(),
            "workflow": workflow.id,
            "channel": workflow.channel,
            "url": None,
        },
        "workflow": {"id": workflow.id, "name": workflow.title},
    }


def render_text(text: str | None, context: dict[str, Any]) -> str:
    """Render a YAML-authored template; a failure shows the template, never a traceback."""
    if not text:
        return ""
    try:
        return templates.render(text, context)
    except Exception:  # noqa: BLE001 - a prompt that cannot render must not stop the run
        return text


def _protect_secrets(text: str) -> str:
    return templates.SECRET_REF.sub(lambda m: _SENTINEL.format(m.group(1)), text)


def _restore_secrets(value: Any) -> Any:
    if isinstance(value, str):
        return _SENTINEL_RE.sub(lambda m: "${{ secrets." + m.group(1) + " }}", value)
    return value


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """Render `with`/`run`/`http` values. A string that is one `{{ expression }}` keeps the
    expression's type (a list stays a list); other templates become text."""
    if isinstance(value, dict):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    if not isinstance(value, str) or not templates.is_template(value):
        return value
    whole = _WHOLE_EXPRESSION.match(value)
    if whole:
        result = templates.evaluate_value(whole.group("expr"), context)
        return _restore_secrets(result)
    return _restore_secrets(templates.render(_protect_secrets(value), context))
