"""Small statistics: rates with a Wilson 95% interval, quantiles, error texts grouped."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Rate:
    count: int
    runs: int

    @property
    def value(self) -> float | None:
        return self.count / self.runs if self.runs else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.count, self.runs)

    def to_json(self) -> dict[str, float | int | None]:
        low, high = self.interval or (None, None)
        return {"count": self.count, "runs": self.runs, "rate": _round(self.value), "low": _round(low),
                "high": _round(high)}


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def wilson(count: int, total: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of `count` successes in `total` trials (None without trials)."""
    if total <= 0:
        return None
    p = count / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-quantile of already sorted values, linearly interpolated (None when empty)."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def distribution(values: Iterable[float]) -> dict[str, float | int | None]:
    """Count, median, p90 and max of durations in seconds."""
    ordered = sorted(values)
    return {"count": len(ordered), "median": _round(quantile(ordered, 0.5), 3),
            "p90": _round(quantile(ordered, 0.9), 3), "max": _round(ordered[-1] if ordered else None, 3)}


_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_HEX = re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.I)
_NUMBER = re.compile(r"\d+(\.\d+)?")
_QUOTED = re.compile(r"(['\"`])[^'\"`]{1,80}\1")


def error_group(error: str) -> str:
    """An error text with what varies between runs (ids, numbers, quoted values) blanked, so
    the same cause groups together."""
    text = " ".join(error.split())[:300]
    text = _UUID.sub("<id>", text)
    text = _HEX.sub("<id>", text)
    text = _QUOTED.sub(r"\1…\1", text)
    return _NUMBER.sub("N", text)


def top_causes(errors: Iterable[str], limit: int = 5) -> list[dict[str, object]]:
    """The most frequent error groups, each with a count and one example as it was written."""
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for error in errors:
        group = error_group(error)
        counts[group] += 1
        examples.setdefault(group, error[:300])
    return [{"cause": group, "count": n, "example": examples[group]} for group, n in counts.most_common(limit)]
