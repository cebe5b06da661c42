"""Problems found in a workflow file, each with a code, a position and a message people can act on.

Every code a user can see is listed in `CODES` (the README's error table is built from the same
list), so a message is written once and a code never changes meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


# code -> one-line meaning, used for the README table and `conductor validate --codes`.
CODES: dict[str, str] = {
    # The file itself.
    "E001": "the file is not valid UTF-8 text",
    "E002": "the file is larger than 1 MiB",
    "E003": "the file is empty",
    "E004": "YAML syntax error",
    "E005": "a tab character is used for indentation (YAML allows spaces only)",
    "E006": "a key appears twice in the same mapping",
    "E007": "anchors and aliases expand too far (an alias bomb)",
    "E008": "the document is not a mapping of workflow keys",
    "E009": "two files define the same workflow id",
    "E010": "a YAML tag the language does not know (`!tag`)",
    # Shape: keys and types.
    "E101": "unknown key",
    "E102": "a required key is missing",
    "E103": "wrong type of value",
    "E104": "value not allowed here",
    "E105": "the kind of a step cannot be told from its keys",
    "E106": "bad duration",
    "E107": "bad cron expression",
    "E108": "unknown time zone",
    "E109": "bad time of day (use HH:MM, 24-hour)",
    "E110": "an automation needs exactly one of `uses`, `run` or `http`",
    "E111": "`run` takes a list of arguments, never a shell string",
    "E112": "bad `uses` reference",
    "E113": "not a Slack user, user-group or channel ID",
    # References between parts of the workflow.
    "E201": "two steps share an id",
    "E202": "reference to a step that does not exist",
    "E203": "reference to a role that does not exist",
    "E204": "reference to a phase that does not exist",
    "E205": "`needs` names this step or a later one (steps can only wait for earlier steps)",
    "E206": "`on_reject` must point back to an earlier step the approval follows from",
    "E207": "a loop with no way out: the run could never end",
    "E208": "a secret is used where its value would be shown to people",
    "E209": "reference to an input or output field that does not exist",
    "E210": "an `http:` url takes its host from what a person types (a run input or a person step's answer)",
    "E211": "a `run:` program (its first argument) is a template: name the program literally",
    "E212": "a `run:` argument starts with a template whose value a person types, so it could be read as an option",
    "W201": "a step can never be reached",
    "W202": "an `http:` url's host is a template, so data decides where the request goes",
    "W203": "a `run:` argument starts with a template, so its value could start with `-` and be read as an option",
    # Templates and conditions.
    "E301": "template or condition syntax error",
    "E302": "unknown name in a template or condition",
    "E303": "a step's outputs are used before that step can have run",
    # The four-question diagnostic.
    "W401": "an automated step whose diagnostic says people should do it (automating too early)",
    "W402": "a person step whose diagnostic says code could do it",
    "W403": "a step whose diagnostic points both ways: consider splitting it",
}


@dataclass(frozen=True, order=True)
class Problem:
    """One problem at one place. Sorted by file, then line, then column."""

    path: str
    line: int  # 1-based
    column: int  # 1-based
    code: str
    message: str

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self.code.startswith("W") else Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        """`path:line:col: CODE message` — the form editors and CI logs recognise."""
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"


def summary_line(problems: list[Problem], files: int) -> str:
    """The one-line summary `conductor validate` ends with."""
    errors = sum(1 for p in problems if p.is_error)
    warnings = len(problems) - errors
    noun = "file" if files == 1 else "files"
    return (
        f"{files} {noun} checked: {errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}"
    )
