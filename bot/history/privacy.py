"""What a reader of a report or an export may not see, and so does not get by default.

The rules are those Conductor keeps in Slack (`bot.engine.visibility`, the README's Security):

* An automation's error and output are shown only to those who may take over, skip or retry
  the step: errors (and so the reasons a step failed or was skipped) stay out.
* The values people and automations hand off (a run's inputs, a step's outputs, answers, a
  rejection's reason, a take-over's outputs) stay out. The workflow language has no way to
  mark one field as secret or sensitive, so the export cannot tell which of them are; it
  leaves them all out and keeps the process: what happened, when, by whom, to which run and
  step. Secrets themselves never reach the store (they are masked before anything is stored).
* Stand-up blockers are in the stand-up report: the stand-up's summary shows them in the
  run's thread, and turns each into a run of its own.
* Runs: the language has no setting that restricts a workflow's runs further than who takes
  part in them, so no run is left out; every run is read, as an admin reads them.

`--include-private` puts the values and errors in. It is for admins: the command runs with the
database's own credentials, so whoever can run it can read everything anyway."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Privacy:
    include_private: bool = False

    def values(self, values: dict[str, Any]) -> dict[str, Any]:
        """The private values an event or object carries, as the reader may get them."""
        if not self.include_private:
            return {}
        return {name: scalar(value) for name, value in values.items() if value is not None}


def scalar(value: Any) -> str | int | float | bool:
    """A value as an event log holds it: a string, a number or a boolean (else JSON text)."""
    if isinstance(value, (str, bool, int, float)):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
