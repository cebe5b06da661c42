"""What one try of an automation came to, as the engine needs it.

`ok` with `outputs` (still to be checked against the step's declared outputs by the engine),
or a failure: a message people can read (`error`, no traceback), whether another try may
help (`retryable`), and the end of what the automation printed or answered (`output_tail`).
Runners redact secrets from `error` and `output_tail` before they cut them, and `run_automation`
masks every outcome once more, outputs included, before it leaves the runner. An outcome
holds no NUL character: PostgreSQL cannot store one, and in outputs (which later templates
see) one could pass for the mark of an authored secret reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.definitions.templates import without_nul

TAIL_LINES = 20
TAIL_CHARS = 2000


@dataclass(frozen=True)
class RunOutcome:
    ok: bool
    outputs: dict
    error: str = ""
    retryable: bool = True
    output_tail: str = ""

    @classmethod
    def success(cls, outputs: dict[str, Any], output_tail: str = "") -> RunOutcome:
        return cls(ok=True, outputs=without_nul(dict(outputs)), output_tail=without_nul(output_tail))

    @classmethod
    def failure(cls, error: str, *, retryable: bool, output_tail: str = "") -> RunOutcome:
        return cls(ok=False, outputs={}, error=without_nul(error), retryable=retryable,
                   output_tail=without_nul(output_tail))


def tail(text: str, *, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last `lines` lines of `text`, at most `chars` characters, without trailing space."""
    text = text.rstrip()
    if not text:
        return ""
    kept = "\n".join(text.splitlines()[-lines:])
    if len(kept) > chars:
        kept = "…" + kept[-(chars - 1):]
    return kept


def excerpt(text: str, chars: int = 300) -> str:
    """The start of `text` on one line, for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[: chars - 1] + "…"


def describe_seconds(seconds: float) -> str:
    """`0.5` -> `0.5s`, `90` -> `1m30s`, `3600` -> `1h`."""
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    whole = round(seconds)
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts) or "0s"
