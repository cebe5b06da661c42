"""What templates see at a point of a run, and rendering with it.

Secret references (`${{ secrets.NAME }}`) are kept as references: the engine never sees a
secret's value; the automation runner puts values in just before it calls out. Rendering marks
the references the workflow's author wrote (`templates.mark_authored`), in templates and plain
strings alike, and the runner resolves only those: `${{ secrets.NAME }}` that arrives as data
(a form answer, a thread reply, a webhook's inputs, an earlier step's outputs) stays text.
Data reaches templates without NUL characters (`templates.without_nul`), so it cannot forge
the mark.
"""

from __future__ import annotations

import re
from typing import Any

from bot.definitions import templates
from bot.definitions.values import SECRET_REF
from bot.definitions.workflow import Workflow
from bot.engine.state import RunState

_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.DOTALL)
# Stands for an authored reference while Jinja renders the text around it: not Jinja syntax,
# and data never holds a NUL, so after rendering each one is the author's.
_PLACEHOLDER = "\x00secret:{}\x00"
_PLACEHOLDER_RE = re.compile(r"\x00secret:([A-Za-z_][A-Za-z0-9_]*)\x00")


def template_context(workflow: Workflow, state: RunState) -> dict[str, Any]:
    """What templates see; every string from the run's data comes without NUL characters."""
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
        "inputs": templates.without_nul(state.inputs),
        "steps": templates.without_nul(steps),
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


def _hold_secrets(text: str) -> str:
    return SECRET_REF.sub(lambda m: _PLACEHOLDER.format(m.group(1)), text)


def _mark_held_secrets(text: str) -> str:
    return _PLACEHOLDER_RE.sub(lambda m: templates.authored_secret(m.group(1)), text)


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """Render `with`/`run`/`http` values. A string that is one `{{ expression }}` keeps the
    expression's type (a list stays a list); other templates become text. Secret references
    written in `value` come out marked as authored; any in the data rendered in stay text."""
    return _render(value, templates.without_nul(context))


def _render(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: _render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, context) for item in value]
    if not isinstance(value, str):
        return value
    if not templates.is_template(value):
        return templates.mark_authored(value)
    whole = _WHOLE_EXPRESSION.match(value)
    if whole:
        # The expression holds no reference (one would end it early), and its value is data.
        return templates.evaluate_value(whole.group("expr"), context)
    return _mark_held_secrets(templates.render(_hold_secrets(value), context))
