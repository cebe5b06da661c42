"""How checks are printed (pure): one line each, and the exit status they add up to."""

from __future__ import annotations

from collections.abc import Iterable

from bot.doctor.check import Check

LABEL_WIDTH = 6  # "FAIL  ", "ok    ": the names line up


def format_check(check: Check) -> str:
    """`ok    token: bot @conductor (U0BOT) in team Acme (T0001)`, or with ` — fix` after a problem."""
    line = f"{check.level.value:<{LABEL_WIDTH}}{check.name}: {check.detail}"
    return f"{line} — {check.fix}" if check.fix else line


def exit_status(checks: Iterable[Check]) -> int:
    """1 when any check failed, else 0 (notes and skips are not failures)."""
    return 0 if all(check.ok for check in checks) else 1
