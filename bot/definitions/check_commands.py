"""Checks on `run:` commands: the program is named literally, and data is never read as an option.

A command runs as an argv list, so a rendered value cannot become shell syntax; it can still
change what the program does. A templated program runs whatever the data names (E211). An
argument that starts with a template renders to whatever the data holds, and a value such as
`--output=/etc/passwd` or `-rf` is then read by the program as an option (W203, E212 when a
person types that value). The value is safe after a literal `--` (the end of options, for
every program that follows the convention), glued to a literal option (`--title={{ ... }}`
is one argument, all of it the option's value), or when only the author chose it (an `enum`).

`run` is only ever a list: a shell string is refused (E111) before these checks, so there is
no split form to look at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.definitions.steps import AutomationStep
from bot.definitions.templates import NameUse, is_template, parse

if TYPE_CHECKING:
    from bot.definitions.checks import WorkflowChecker
    from bot.definitions.yaml_source import Path

END_OF_OPTIONS = "--"
FIX = "write it as --name={{ … }}, or put `--` before it"
# Names whose values the author wrote or the bot makes (ids, Slack ids, times, urls, counts):
# none of them can start with `-`.
_FIXED_ROOTS = ("run", "workflow")
_FIXED_STEP_ATTRIBUTES = ("status", "route", "actor", "attempt")


def check_run_commands(checker: WorkflowChecker) -> None:
    """Report E211, E212 and W203 for every `run:` of the workflow."""
    for index, step in enumerate(checker.workflow.steps):
        if not isinstance(step, AutomationStep) or not step.run:
            continue
        base: Path = ("steps", index, "run")
        program = step.run[0]
        if "{{" in program or "{%" in program:
            checker.report(base + (0,), "E211", f"the program `{program}` is a template, so what runs is decided when the "
                           "step runs, not in this file: name the program literally (pass what varies "
                           "as an argument after it)")
        for n, argument in enumerate(step.run[1:], start=1):
            if argument == END_OF_OPTIONS:
                break  # everything after it is read as an operand, never as an option
            if argument.startswith(("{{", "{%")):
                _check_argument(checker, base + (n,), argument, step.run[n - 1] if n > 1 else "")


def _check_argument(checker: WorkflowChecker, path: Path, argument: str, before: str) -> None:
    uses, error = parse(argument)
    if error is not None or not is_template(argument):
        return  # a template error is reported by the template checks
    typed = next((use for use in uses if _typed(checker, use)), None)
    if typed is None and all(_fixed(checker, use) for use in uses):
        return
    shape = "is a template" if _whole_template(argument) else "starts with a template"
    hint = ""
    if before.startswith("--") and "=" not in before and not is_template(before):
        hint = f" (here `{before}={argument}`, as one argument)"
    if typed is not None:
        name = ".".join((typed.root, *typed.attributes))
        checker.report(path, "E212", f"this argument {shape} and takes its value from `{name}`, which a person types: a value "
                       f"such as `--output=/etc/passwd` or `-rf` would be read as an option; {FIX}{hint}")
    else:
        checker.report(path, "W203", f"this argument {shape}, so its value could start with `-` and be read "
                       f"as an option; {FIX}{hint}")


def _whole_template(argument: str) -> bool:
    text = argument.strip()
    return text.startswith("{{") and text.endswith("}}") and text.count("{{") == 1


def _typed(checker: WorkflowChecker, use: NameUse) -> bool:
    """Free text a person entered: what the `http:` host check counts (run inputs, person
    steps' answers), and a rejection's or a skip's reason, which people write too."""
    if use.root == "steps" and use.attributes[1:2] == ("reason",):
        return True
    return checker._typed_by_a_person(use)  # the rule E210 uses


def _fixed(checker: WorkflowChecker, use: NameUse) -> bool:
    """Whether `use` can only hold a value the author listed or the bot makes."""
    attrs = use.attributes
    if use.root in _FIXED_ROOTS:
        return True
    if use.root == "inputs":
        spec = checker.workflow.inputs.get(attrs[0]) if attrs else None
    elif use.root != "steps" or len(attrs) < 2 or attrs[0] not in checker.step_ids:
        return False
    elif attrs[1] in _FIXED_STEP_ATTRIBUTES:
        return True
    elif attrs[1] == "outputs" and len(attrs) > 2:
        spec = (getattr(checker.workflow.step(attrs[0]), "outputs", None) or {}).get(attrs[2])
    else:
        return False
    return spec is not None and spec.type == "enum"
