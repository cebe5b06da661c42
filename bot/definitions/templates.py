"""Templates and conditions: Jinja in its sandbox, checked against what exists at each step.

Only the workflow's YAML is ever template *source*. Values that come from people (Slack text,
form answers) reach a template as data in its context, never as source, so `{{ }}` typed in
Slack stays text. `${{ secrets.NAME }}` references are not Jinja: they are swapped for the
secret's value after rendering, so a secret never passes through a template.

Only a reference the workflow's author wrote is ever swapped. Rendering marks each one as
authored (`mark_authored`: the reference wrapped in NUL characters), and runners resolve only
marked references. Data cannot forge the mark: Slack text with a NUL is refused, and every
string templates see has its NULs removed (`without_nul`), so `${{ secrets.NAME }}` typed by a
person, or sent by a webhook or an API, stays the text it is.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import ChainableUndefined, TemplateAssertionError, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.definitions.values import SECRET_REF

STEP_ATTRIBUTES = ("outputs", "status", "route", "actor", "reason", "attempt")
RUN_ATTRIBUTES = ("id", "url", "started_by", "started_at", "workflow", "channel")
WORKFLOW_ATTRIBUTES = ("id", "name")
ROOT_NAMES = ("inputs", "steps", "run", "workflow")


class WorkflowEnvironment(ImmutableSandboxedEnvironment):
    """Names in workflow data come first: `steps.copy` is the step called `copy`, not the
    `dict.copy` method (Jinja's `.` tries attributes before items)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)


def make_environment() -> ImmutableSandboxedEnvironment:
    """The one Jinja environment: sandboxed, immutable, no autoescape (output is Slack text)."""
    return WorkflowEnvironment(undefined=ChainableUndefined, autoescape=False)


_ENV = make_environment()


NUL = "\x00"
# A reference the author wrote, as rendered values carry it to the runner.
AUTHORED_SECRET = re.compile(r"\x00\$\{\{ secrets\.([A-Za-z_][A-Za-z0-9_]*) \}\}\x00")


def authored_secret(name: str) -> str:
    """The marked form of the author's reference to secret `name`."""
    return NUL + "${{ secrets." + name + " }}" + NUL


def mark_authored(text: str) -> str:
    """`text` written by the workflow's author, each secret reference in it marked as authored."""
    return SECRET_REF.sub(lambda match: authored_secret(match.group(1)), text)


def map_strings(value: Any, change: Callable[[str], str], *, keys: bool = False) -> Any:
    """A copy of nested data (mappings, lists, tuples) with `change` applied to every string in
    it, and to mapping keys when `keys`; other values are kept."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, Mapping):
        return {
            (change(key) if keys and isinstance(key, str) else key): map_strings(item, change, keys=keys)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [map_strings(item, change, keys=keys) for item in value]
    return value


def _remove_nul(text: str) -> str:
    return text.replace(NUL, "") if NUL in text else text


def without_nul(value: Any) -> Any:
    """Data without NUL characters, in keys too: data then never holds the mark of an authored
    secret reference. (Data almost never has one: a look by the C JSON encoder comes first,
    and the copy is made only when it finds one.)"""
    try:
        clean = "\\u0000" not in json.dumps(value, default=str)
    except (TypeError, ValueError):  # keys JSON cannot write, or a cycle: look at every string
        clean = False
    return value if clean else map_strings(value, _remove_nul, keys=True)


def _shown_text(text: str) -> str:
    if NUL not in text:
        return text
    return _remove_nul(AUTHORED_SECRET.sub(lambda match: "${{ secrets." + match.group(1) + " }}", text))


def shown(value: Any) -> Any:
    """Rendered values as people may see them: each authored reference back to its plain
    `${{ secrets.NAME }}` text, never a value, never the mark."""
    return map_strings(value, _shown_text)


def is_template(text: str) -> bool:
    return "{{" in SECRET_REF.sub("", text) or "{%" in text


def strip_secrets(text: str) -> str:
    return SECRET_REF.sub("", text)


def condition_expression(expression: str) -> str:
    """A condition may be written bare (`inputs.seats > 50`) or wrapped (`{{ ... }}`)."""
    text = expression.strip()
    if text.startswith("{{") and text.endswith("}}") and text.count("{{") == 1:
        text = text[2:-2]
    return text.strip()


def condition_source(expression: str) -> str:
    return "{{ (" + condition_expression(expression) + ") }}"


@dataclass(frozen=True)
class NameUse:
    """`steps.brief.outputs.outline` -> root `steps`, attributes ('brief', 'outputs', 'outline')."""

    root: str
    attributes: tuple[str, ...]


def _chain(node: nodes.Node) -> tuple[str, tuple[str, ...]] | None:
    attributes: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            attributes.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            attributes.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Getitem):
            attributes.clear()  # a computed subscript: only the part before it can be checked
            node = node.node
        elif isinstance(node, nodes.Name):
            return node.name, tuple(reversed(attributes))
        else:
            return None


def _uses(node: nodes.Node, local: set[str], out: list[NameUse]) -> None:
    if isinstance(node, (nodes.Getattr, nodes.Getitem, nodes.Name)):
        chain = _chain(node)
        # A name assigned (`set`, a `for` target) or a parameter is not a read.
        assigned = isinstance(node, nodes.Name) and node.ctx != "load"
        if chain is not None and chain[0] not in local and not assigned:
            out.append(NameUse(chain[0], chain[1]))
        # Look inside computed subscripts for more names.
        inner: nodes.Node = node
        while isinstance(inner, (nodes.Getattr, nodes.Getitem)):
            if isinstance(inner, nodes.Getitem) and not isinstance(inner.arg, nodes.Const):
                _uses(inner.arg, local, out)
            inner = inner.node
        return
    for child in node.iter_child_nodes():
        _uses(child, local, out)


_FRIENDLIER = {
    "expected 'end of print statement'": "a `{{` is not closed with `}}`",
    "expected 'end of statement block'": "a `{%` is not closed with `%}`",
}


def _friendly(message: str) -> str:
    for fragment, plain in _FRIENDLIER.items():
        if fragment in message:
            return f"{plain} ({message.rstrip('.')})"
    return message.rstrip(".")


def _unknown_filter(message: str) -> str:
    """`No filter named 'upperr'.` -> a message with a did-you-mean over what exists."""
    kind = "test" if "No test named" in message else "filter"
    name = message.split("'")[1] if "'" in message else ""
    known = list(_ENV.tests if kind == "test" else _ENV.filters)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
    hint = f" (did you mean `{close[0]}`?)" if close else ""
    return f"unknown {kind} `{name}`{hint}"


@dataclass(frozen=True)
class TemplateError:
    code: str  # E301 syntax, E302 unknown filter or test
    message: str


def parse(text: str, *, condition: bool = False) -> tuple[list[NameUse], TemplateError | None]:
    """The names a template (or condition) uses, or the error that stops it."""
    source = condition_source(text) if condition else strip_secrets(text)
    try:
        _ENV.compile(source)  # compiling also catches unknown filters and tests
        tree = _ENV.parse(source)
    except TemplateAssertionError as exc:
        if exc.message and ("No filter named" in exc.message or "No test named" in exc.message):
            return [], TemplateError("E302", _unknown_filter(exc.message))
        return [], TemplateError("E301", _friendly(exc.message or "syntax error"))
    except TemplateSyntaxError as exc:
        return [], TemplateError("E301", _friendly(exc.message or "syntax error"))
    local = {
        n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")
    }
    local |= set(_ENV.globals)
    uses: list[NameUse] = []
    _uses(tree, local, uses)
    return uses, None


def evaluate_value(expression: str, context: dict[str, Any]) -> Any:
    """The value of an expression (undefined names give None)."""
    compiled = _ENV.compile_expression(expression.strip(), undefined_to_none=True)
    return compiled(**context)


def render(text: str, context: dict[str, Any]) -> str:
    """Render YAML-authored template `text` with `context` as data."""
    return _ENV.from_string(strip_secrets(text)).render(context)


def evaluate(expression: str, context: dict[str, Any]) -> bool:
    """Whether a condition holds; undefined names are false, never an error."""
    compiled = _ENV.compile_expression(condition_expression(expression), undefined_to_none=True)
    return bool(compiled(**context))
