"""`python -m tests.benchmarks` runs every benchmark and prints one table. At its smallest
sizes: every row is there with a number, nothing is lost or doubled, and the Markdown the
README quotes carries the same rows. (No timing is asserted: benchmarks print figures.)"""

from __future__ import annotations

import math
import os

from tests.benchmarks.__main__ import main
from tests.benchmarks.suite import expected_keys
from tests.benchmarks.table import Row, Target, markdown_table, number

MUST_BE_ZERO = ("engine.sqlite.runs_lost", "engine.postgresql.runs_lost", "clock.lost", "clock.doubled",
                "ack.missed", "ack.not_applied", "fanout.lost", "fanout.doubled")


def test_the_tiny_table_has_every_row_with_a_number_and_nothing_lost_or_doubled(capsys):
    postgres = os.environ.get("TEST_DATABASE_URL")
    rows = main(["--tiny", *(["--postgres", postgres] if postgres else [])])
    out = capsys.readouterr().out

    assert [row.key for row in rows] == expected_keys(postgres=bool(postgres))
    for row in rows:
        assert isinstance(row.measured, int | float) and math.isfinite(row.measured), row
        assert row.baseline is None or math.isfinite(row.baseline), row
    by_key = {row.key: row for row in rows}
    counted = [key for key in MUST_BE_ZERO if key in by_key]
    assert len(counted) == (8 if postgres else 7)
    assert {key: by_key[key].measured for key in counted} == dict.fromkeys(counted, 0)
    # Every figure with a baseline is compared with it; the targets the README states are shown.
    assert all(row.ratio is not None for row in rows if row.baseline is not None)
    assert str(by_key["engine.sqlite.ms_per_step_median"].target) == "≤ 0.3 ms"
    assert str(by_key["clock.lateness_p99"].target) == "≤ 1 s"
    assert str(by_key["ack.reads.p99"].target) == str(by_key["ack.writes.p99"].target) == "≤ 50 ms"
    # Each Slack ack row names the one stock Bolt it is compared with: reads and writes with Bolt
    # answering after its listener, as we do; all requests with Bolt's default mode.
    compared = {key: row.baseline_name for key, row in by_key.items() if key.startswith("ack.") and row.baseline is not None}
    assert compared == {**{f"ack.{part}.{figure}": "stock Bolt, process_before_response=True"
                           for part in ("reads", "writes") for figure in ("median", "p99", "max")},
                        "ack.all.median": "stock Bolt, default mode", "ack.all.p99": "stock Bolt, default mode"}

    lines = out.splitlines()
    assert any(line.startswith("date: ") for line in lines)
    assert any(line.startswith("machine: ") and "cores" in line and "Python" in line for line in lines)
    markdown = [line for line in lines if line.startswith("| ")]
    assert markdown[0] == "| figure | target | measured | baseline | ratio |"
    assert [cells(line)[0] for line in markdown[1:]] == [row.figure for row in rows]
    assert [cells(line)[2] for line in markdown[1:]] == [row.cells()[2] for row in rows]


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def test_cells_show_counts_whole_units_targets_and_no_ratio_without_a_baseline():
    count = Row("x.lost", "prompts lost", 0, "", Target("=", 0))
    assert count.cells() == ("prompts lost", "= 0", "0", "—", "—")
    timed = Row("x.ms", "ack a|b", 2.5, "ms", Target("≤", 5.0, "ms"), 12.0, "stock Bolt")
    assert timed.cells() == ("ack a|b", "≤ 5 ms", "2.50 ms", "12.0 ms (stock Bolt)", "0.208x")
    assert "ack a\\|b" in markdown_table([timed])  # a bar in a figure cannot break the Markdown table
    assert [number(x) for x in (1234.5, float("nan"), 10_000, 0.00047)] == ["1,234", "n/a", "10,000", "0.00047"]
