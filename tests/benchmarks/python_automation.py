"""What one try of a Python automation costs now that each try runs in a child process.

Times `run_python` on a no-op automation (`bench_noop.job:run`, in a fresh workflows folder),
try after try, with a pause between tries as a scheduler leaves them (so the spare child has
started), and back to back (each try waits for the spare to finish starting). The baseline is
the call as it was made before, in a worker thread of the bot's process, the module imported
once (`call_with_deadline` on the same function).

    python -m tests.benchmarks.python_automation [--tries 200]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.automations.child import load_callable
from bot.automations.context import AutomationContext
from bot.automations.deadline import call_with_deadline
from bot.automations.python_runner import run_python, shutdown_children
from tests.benchmarks.setup import percentile

PACKAGE = "bench_noop"
USES = f"{PACKAGE}.job:run"
JOB = '''
def run(ctx):
    ctx.logger.info("noop for %s", ctx.step_id)
    return {"ok": True, "key": ctx.idempotency_key}
'''
PAUSE_SECONDS = 0.15  # between spaced tries: the spare child has started by then
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class PythonFigures:
    tries: int
    child_median_ms: float
    child_p99_ms: float
    back_to_back_median_ms: float
    thread_median_ms: float
    thread_p99_ms: float
    failed: int


def _context(n: int) -> AutomationContext:
    return AutomationContext(run_id="bench", step_id="noop", attempt=n, idempotency_key=f"bench:noop:{n}",
                             params={"n": n}, logger=logging.getLogger("conductor.automation.noop"))


def _timed(call, n: int) -> tuple[float, bool]:
    started = time.perf_counter()
    ok = call(n)
    return (time.perf_counter() - started) * 1000, ok


def measure(tries: int, *, workdir: Path) -> PythonFigures:
    folder = workdir / "workflows"
    (folder / PACKAGE).mkdir(parents=True)
    (folder / PACKAGE / "__init__.py").write_text("")
    (folder / PACKAGE / "job.py").write_text(JOB)

    def in_child(n: int) -> bool:
        return run_python(USES, _context(n), timeout=TIMEOUT_SECONDS, workflows_dir=folder).ok

    def in_thread(n: int) -> bool:
        finished = call_with_deadline(lambda: load_callable(USES)(_context(n)), TIMEOUT_SECONDS)
        return finished is not None and finished.error is None

    failed = 0
    in_child(0)  # the first try starts the first spare
    spaced, back_to_back = [], []
    for n in range(tries):
        time.sleep(PAUSE_SECONDS)
        ms, ok = _timed(in_child, n)
        spaced.append(ms)
        failed += not ok
    for n in range(tries):
        ms, ok = _timed(in_child, n)
        back_to_back.append(ms)
        failed += not ok
    shutdown_children()

    sys.path.append(str(folder))  # the old way, for the baseline only; taken off again below
    try:
        in_thread(0)
        threaded = []
        for n in range(tries):
            ms, ok = _timed(in_thread, n)
            threaded.append(ms)
            failed += not ok
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]
    return PythonFigures(tries, statistics.median(spaced), percentile(spaced, 99), statistics.median(back_to_back),
                         statistics.median(threaded), percentile(threaded, 99), failed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="conductor-bench-") as workdir:
        f = measure(args.tries, workdir=Path(workdir))
    print(f"{f.tries} tries: child median {f.child_median_ms:.2f} ms, p99 {f.child_p99_ms:.2f} ms, "
          f"back to back {f.back_to_back_median_ms:.2f} ms; in-thread median {f.thread_median_ms:.3f} ms, "
          f"p99 {f.thread_p99_ms:.3f} ms; failed {f.failed}")


if __name__ == "__main__":
    main()
