"""Is a person's answer determined by what the run already knew? A shallow search for a small
readable rule: a constant, a copy of another field, or single-feature equality/threshold splits
(depth at most 2) over the run's inputs and earlier outputs. Sets of rows are bit masks."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

MAX_CLASSES = 8  # answers beyond the commonest few count as "other" (never reproduced)
MAX_EQUALITY_VALUES = 12
MAX_THRESHOLDS = 64
DEPTH2_ROOTS = 24


def key_of(value: Any) -> str:
    """A comparable text for any recorded value (numbers compare by value)."""
    if isinstance(value, str):
        return "s" + value
    if isinstance(value, bool) or value is None:
        return "j" + json.dumps(value)
    if isinstance(value, int | float):
        return "n" + repr(float(value))
    return "j" + json.dumps(value, sort_keys=True, default=str)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class Test:
    feature: str
    op: str  # "==" or ">"
    value: Any

    def holds(self, features: dict[str, Any]) -> bool:
        got = features.get(self.feature)
        if self.op == ">":
            number = _number(got)
            return number is not None and number > self.value
        return got is not None and key_of(got) == key_of(self.value)

    def text(self) -> str:
        return f"`{self.feature}` {'=' if self.op == '==' else '>'} {_show(self.value)}"

    def condition(self) -> str:
        """The test as a workflow condition (a Jinja expression)."""
        return f"{self.feature} {self.op} {json.dumps(self.value) if isinstance(self.value, str) else _show(self.value)}"


@dataclass(frozen=True)
class Rule:
    """A constant (`value`), a copy (`copy`), or a split: `then` when `test` holds, else `other`."""

    value: Any = None
    copy: str | None = None
    test: Test | None = None
    then: Rule | None = None
    other: Rule | None = None

    def apply(self, features: dict[str, Any]) -> Any:
        if self.test is not None and self.then is not None and self.other is not None:
            return (self.then if self.test.holds(features) else self.other).apply(features)
        if self.copy is not None:
            return features.get(self.copy)
        return self.value

    @property
    def splits(self) -> int:
        if self.test is None or self.then is None or self.other is None:
            return 0
        return 1 + self.then.splits + self.other.splits

    @property
    def kind(self) -> str:
        return "split" if self.test is not None else "copy" if self.copy is not None else "constant"

    def text(self) -> str:
        if self.test is not None and self.then is not None and self.other is not None:
            then, other = self.then.text(), self.other.text()
            then = f"({then})" if self.then.test is not None else then
            other = f"({other})" if self.other.test is not None else other
            return f"{then} when {self.test.text()}, else {other}"
        if self.copy is not None:
            return f"`{self.copy}`"
        return _show(self.value)


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


@dataclass(frozen=True)
class Found:
    field: str
    rule: Rule
    matched: int
    runs: int
    run_ids: tuple[str, ...]  # runs the rule does not reproduce (the exceptions)

    @property
    def share(self) -> float:
        return self.matched / self.runs if self.runs else 0.0

    def text(self) -> str:
        return f"`{self.field}` = {self.rule.text()}: {self.matched} of {self.runs} runs"


def nice_threshold(low: float, high: float) -> float:
    """The roundest number m with low <= m < high (so `x > m` splits the two apart)."""
    if high <= low:
        return low
    step = 10.0 ** math.ceil(math.log10(max(abs(high), abs(low), 1.0)))
    while step >= 1e-6:
        m = math.ceil(low / step) * step
        if low <= m < high:
            return float(round(m, 6))
        step /= 10
    return low


class _Search:
    def __init__(self, rows: list[dict[str, Any]], targets: list[Any]):
        self.n = len(rows)
        self.all = (1 << self.n) - 1
        keys = [key_of(t) for t in targets]
        common = [k for k, _ in Counter(keys).most_common(MAX_CLASSES)]
        self.value_of = {key_of(t): t for t in targets}
        masks: dict[str, int] = {}
        for i, key in enumerate(keys):
            masks[key] = masks.get(key, 0) | (1 << i)
        self.classes = {k: masks[k] for k in common}
        self.rows, self.keys = rows, keys
        self.min_leaf = max(2, math.ceil(0.05 * self.n))
        self.tests = self._tests()

    def _tests(self) -> list[tuple[Test, int]]:
        """Every candidate test with its mask, built in one pass per feature."""
        found: list[tuple[Test, int]] = []
        names = sorted({name for row in self.rows for name in row})
        for name in names:
            values = [row.get(name) for row in self.rows]
            by_number: dict[float, int] = {}
            answers: dict[float, set[str]] = {}
            by_key: dict[str, int] = {}
            sample: dict[str, Any] = {}
            for i, (value, answer) in enumerate(zip(values, self.keys, strict=True)):
                number = _number(value)
                if number is not None:
                    by_number[number] = by_number.get(number, 0) | (1 << i)
                    answers.setdefault(number, set()).add(answer)
                if isinstance(value, str | bool | int | float):
                    key = key_of(value)
                    by_key[key] = by_key.get(key, 0) | (1 << i)
                    sample.setdefault(key, value)
            numbers = sorted(by_number)
            if len(numbers) > 1:
                # Only where the answers change can a threshold gain anything.
                above = [0] * len(numbers)
                acc = 0
                for j in range(len(numbers) - 1, -1, -1):
                    acc |= by_number[numbers[j]]
                    above[j] = acc
                bounds = [j for j in range(len(numbers) - 1) if answers[numbers[j]] != answers[numbers[j + 1]]
                          or len(answers[numbers[j]]) > 1 or len(answers[numbers[j + 1]]) > 1]
                if len(bounds) > MAX_THRESHOLDS:
                    stride = len(bounds) / MAX_THRESHOLDS
                    bounds = [bounds[int(i * stride)] for i in range(MAX_THRESHOLDS)]
                for j in bounds:
                    found.append((Test(name, ">", nice_threshold(numbers[j], numbers[j + 1])), above[j + 1]))
            if len(by_key) > 1 and len(numbers) <= MAX_EQUALITY_VALUES:
                common = sorted(by_key, key=lambda k: -by_key[k].bit_count())[:MAX_EQUALITY_VALUES]
                found += [(Test(name, "==", sample[key]), by_key[key]) for key in common]
        return found

    def leaf(self, subset: int) -> tuple[int, Rule]:
        best, best_key = 0, None
        for key, mask in self.classes.items():
            count = (subset & mask).bit_count()
            if count > best:
                best, best_key = count, key
        return best, Rule(value=self.value_of[best_key] if best_key is not None else None)

    def depth1(self, subset: int) -> tuple[int, Rule]:
        best = self.leaf(subset)
        size = subset.bit_count()
        for test, mask in self.tests:
            left = subset & mask
            n_left = left.bit_count()
            if n_left < self.min_leaf or size - n_left < self.min_leaf:
                continue
            score_l, rule_l = self.leaf(left)
            score_r, rule_r = self.leaf(subset & ~mask)
            if score_l + score_r > best[0] and rule_l.value != rule_r.value:
                best = (score_l + score_r, Rule(test=test, then=rule_l, other=rule_r))
        return best

    def depth2(self, penalty: int) -> tuple[int, Rule]:
        best = self.depth1(self.all)
        roots: list[tuple[int, Test, int]] = []
        for test, mask in self.tests:
            left = self.all & mask
            if self.min_leaf <= left.bit_count() <= self.n - self.min_leaf:
                roots.append((self.leaf(left)[0] + self.leaf(self.all & ~mask)[0], test, mask))
        roots.sort(key=lambda r: -r[0])
        for _, test, mask in roots[:DEPTH2_ROOTS]:
            score_l, rule_l = self.depth1(self.all & mask)
            score_r, rule_r = self.depth1(self.all & ~mask)
            extra = rule_l.splits + rule_r.splits
            if extra and score_l + score_r >= best[0] + penalty * extra:
                best = (score_l + score_r, Rule(test=test, then=rule_l, other=rule_r))
        return best


def find_rule(name: str, rows: list[dict[str, Any]], targets: list[Any], run_ids: list[str]) -> Found | None:
    """The simplest rule reproducing the most of `targets` from `rows` (features by name).

    A split must beat a constant, and a second level the first, by a margin (5% of the runs,
    at least 3 rows per split), so noise is not fitted; each side of a split holds at least
    5% of the runs."""
    n = len(targets)
    if n == 0:
        return None
    search = _Search(rows, targets)
    score, rule = search.leaf(search.all)
    keys = search.keys
    for feature in sorted({f for row in rows for f in row}):
        same = sum(1 for row, key in zip(rows, keys, strict=True) if feature in row and key_of(row[feature]) == key)
        if same > score and len({key_of(row.get(feature)) for row in rows}) > 1:
            score, rule = same, Rule(copy=feature)
    penalty = max(3, math.ceil(0.05 * n))
    if len(search.classes) > 1 and len(set(keys)) <= max(MAX_CLASSES, n // 2):
        split_score, split_rule = search.depth1(search.all)
        if split_score >= score + penalty:
            score, rule = split_score, split_rule
        if score < 0.97 * n:
            deep_score, deep_rule = search.depth2(penalty)
            if deep_rule.splits > rule.splits and deep_score >= score + penalty * (deep_rule.splits - rule.splits):
                score, rule = deep_score, deep_rule
    misses = tuple(rid for row, key, rid in zip(rows, keys, run_ids, strict=True) if key_of(rule.apply(row)) != key)
    return Found(name, rule, n - len(misses), n, misses)
