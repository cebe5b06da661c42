"""The benchmark table: its rows, the machine it was measured on, and its two renderings
(aligned text for the terminal, Markdown for the README)."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DASH = "—"
COLUMNS = ("figure", "target", "measured", "baseline", "ratio")


@dataclass(frozen=True)
class Target:
    """A limit a figure should stay within, as stated by the README or the benchmark."""

    op: str  # "≤", "<" or "="
    value: float
    unit: str = ""
    note: str = ""  # where the limit comes from, when it is derived

    def __str__(self) -> str:
        return f"{self.op} {self.value:,g}{_unit(self.unit)}" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class Row:
    key: str  # stable name, for tests and tools
    figure: str  # what people read, with the size it was measured at
    measured: float
    unit: str = ""
    target: Target | None = None
    baseline: float | None = None
    baseline_name: str = ""  # what the baseline is, e.g. "bare APScheduler"

    @property
    def ratio(self) -> float | None:
        """Measured over baseline: how many times the baseline's figure this is."""
        if self.baseline is None or not self.baseline or math.isnan(self.baseline):
            return None
        return self.measured / self.baseline

    def cells(self) -> tuple[str, str, str, str, str]:
        baseline = (DASH if self.baseline is None
                    else f"{number(self.baseline)}{_unit(self.unit)} ({self.baseline_name})")
        ratio = DASH if self.ratio is None else f"{number(self.ratio)}x"
        return (self.figure, str(self.target) if self.target else DASH, f"{number(self.measured)}{_unit(self.unit)}",
                baseline, ratio)


def number(value: float) -> str:
    """Counts whole, with thousands separated; measurements to about three significant figures."""
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "n/a"
    magnitude = abs(value)
    if 0 < magnitude < 0.01:  # keep two significant figures of the smallest latencies
        decimals = 1 - math.floor(math.log10(magnitude))
    else:
        decimals = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3
    return f"{value:,.{decimals}f}"


def _unit(unit: str) -> str:
    return unit if unit in ("", "%") or unit.startswith("/") else f" {unit}"


def text_table(rows: list[Row]) -> str:
    cells = [COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) if i in (2, 4) else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(line, widths, strict=True))).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|---|---:|---|---:|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def machine(postgres_version: str | None = None) -> list[str]:
    """Where and when the figures were measured, as lines for the top of the table."""
    databases = f"SQLite {sqlite3.sqlite_version}" + (f", PostgreSQL {postgres_version}" if postgres_version else "")
    return [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()} "
        f"({platform.python_implementation()}); {platform.platform()}",
        f"databases: {databases}",
    ]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"
