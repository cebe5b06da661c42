"""The insights benchmark runs (at a tiny size: figures are not checked here, only that it
writes a history `collect_insights` reads with the advisories that history holds)."""

from __future__ import annotations

from tests.benchmarks import insights as bench


def test_the_benchmark_runs_tiny(tmp_path, capsys):
    [figures] = bench.measure(300, repeat=1, workdir=tmp_path)
    assert (figures.database, figures.step_runs, figures.runs) == ("sqlite", 300, 100)
    assert figures.advisories >= 2 and figures.median_seconds > 0
    bench.main(["--step-runs", "30", "--repeat", "1"])
    assert "insights, sqlite: 30 step runs (10 runs" in capsys.readouterr().out
