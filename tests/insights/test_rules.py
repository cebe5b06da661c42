"""The rule search on its own: constants, copies, splits, two levels, and noise not fitted."""

from __future__ import annotations

import random

from bot.insights.render import bar
from bot.insights.rules import find_rule, nice_threshold
from bot.insights.stats import error_group, quantile, wilson


def ids(n):
    return [f"r{i}" for i in range(n)]


def test_constant_and_copy():
    rows = [{"inputs.plan": p} for p in ["a", "b", "c"] * 10]
    assert find_rule("x", rows, ["same"] * 30, ids(30)).text() == "`x` = same: 30 of 30 runs"
    found = find_rule("x", rows, [r["inputs.plan"] for r in rows], ids(30))
    assert found.rule.kind == "copy" and found.text() == "`x` = `inputs.plan`: 30 of 30 runs"


def test_equality_split():
    rows = [{"inputs.region": r, "inputs.n": i} for i, r in enumerate(["eu", "us", "apac"] * 10)]
    targets = ["gdpr" if r["inputs.region"] == "eu" else "none" for r in rows]
    assert find_rule("law", rows, targets, ids(30)).text() == "`law` = gdpr when `inputs.region` = eu, else none: 30 of 30 runs"


def test_two_levels():
    rng = random.Random(3)
    rows = [{"inputs.seats": rng.randint(1, 400), "inputs.region": rng.choice(["eu", "us"])} for _ in range(80)]
    targets = ["gold" if r["inputs.seats"] > 200 else ("silver" if r["inputs.region"] == "eu" else "bronze") for r in rows]
    found = find_rule("tier", rows, targets, ids(80))
    assert found.matched == 80 and found.rule.splits == 2
    assert "`inputs.seats` > 200" in found.text() and "`inputs.region` = " in found.text()


def test_noise_is_not_fitted():
    rng = random.Random(5)
    rows = [{"inputs.seats": rng.randint(1, 300), "inputs.x": rng.random()} for _ in range(60)]
    targets = ["gold" if r["inputs.seats"] > 100 else "standard" for r in rows]
    far = [i for i, r in enumerate(rows) if not 40 < r["inputs.seats"] < 160][:2]  # noise away from the edge
    for i in far:
        targets[i] = "standard" if targets[i] == "gold" else "gold"
    found = find_rule("tier", rows, targets, ids(60))
    assert found.rule.splits == 1 and found.matched == 58 and set(found.run_ids) == {f"r{i}" for i in far}
    assert found.text() == "`tier` = gold when `inputs.seats` > 100, else standard: 58 of 60 runs"


def test_nothing_to_find_in_free_text():
    rows = [{"inputs.n": i} for i in range(40)]
    found = find_rule("notes", rows, [f"note {i}" for i in range(40)], ids(40))
    assert found.matched <= 1


def test_helpers():
    assert nice_threshold(97, 104) == 100 and nice_threshold(100, 101) == 100 and nice_threshold(3, 4) == 3
    low, high = wilson(18, 60)
    assert round(low, 3) == 0.199 and round(high, 3) == 0.425
    assert wilson(0, 0) is None and quantile([1, 2, 3, 4], 0.5) == 2.5
    assert error_group("HTTP 503 for 'acct_9f8e7d6c5b4a' after 12.5 s") == "HTTP N for '…' after N s"
    assert bar(0.5, 4) == "██  " and bar(None, 3) == "···" and bar(1 / 16, 2) == "▏ "
