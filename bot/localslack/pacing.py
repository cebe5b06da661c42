"""How fast the local Slack answers: the time each call takes (latency) and the token buckets
that rate-limit it.

Latency is given per method, `"*"` standing for every method without its own, and each figure
is either a number of seconds (every call takes that long) or a `(low, high)` pair: each call
takes a time drawn uniformly between the two, from a `random.Random` seeded once, so that the
same calls in the same order take the same times in every run.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping

Seconds = float | tuple[float, float]
LatencySpec = Seconds | Mapping[str, Seconds]
DEFAULT_SEED = 20240601


def _seconds(value: Seconds) -> Seconds:
    """A fixed figure or a `(low, high)` range, checked."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"a latency range is (low, high), not {value!r}")
        low, high = float(value[0]), float(value[1])
        if not 0 <= low <= high:
            raise ValueError(f"a latency range needs 0 <= low <= high, not {value!r}")
        return (low, high)
    fixed = float(value)
    if fixed < 0:
        raise ValueError(f"a latency is not negative, not {value!r}")
    return fixed


class Latency:
    """Seconds each method takes: fixed, or drawn per call from a seeded generator."""

    def __init__(self, spec: LatencySpec = 0.0, seed: int | None = DEFAULT_SEED):
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._by_method: dict[str, Seconds] = {}
        self.set(spec)

    def set(self, spec: LatencySpec, method: str = "*") -> None:
        """`spec` for `method`; a mapping sets each method it names (and leaves the rest)."""
        if isinstance(spec, Mapping):
            checked = {name: _seconds(value) for name, value in spec.items()}
        else:
            checked = {method: _seconds(spec)}
        with self._lock:
            self._by_method.update(checked)

    def of(self, method: str) -> Seconds:
        """The figure `method` is answered after (fixed or a range)."""
        with self._lock:
            return self._by_method.get(method, self._by_method.get("*", 0.0))

    def draw(self, method: str) -> float:
        """Seconds this call of `method` takes."""
        with self._lock:
            found = self._by_method.get(method, self._by_method.get("*", 0.0))
            if isinstance(found, tuple):
                return self._random.uniform(*found)
            return found


class Bucket:
    """A token bucket: `rate` tokens per second, holding at most `capacity`."""

    def __init__(self, rate: float, capacity: float):
        self.rate, self.capacity = rate, capacity
        self.tokens, self.stamp = capacity, time.monotonic()

    def wait(self) -> float:
        """Seconds until a token is available (0 if one is available now)."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
