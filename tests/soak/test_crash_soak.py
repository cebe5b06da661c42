"""The crash soak: `conductor serve` (web, clock and messenger in one process) is killed with
SIGKILL at random moments and started again on the same database, while people keep driving
runs through signed Slack requests. Once all is quiet, nothing may be lost or doubled: runs,
step completions, automation effects (a ledger the automations write) and Slack messages;
and no request that changes something may be lost after Slack had HTTP 200 for it (Slack
never sends it again): the bot decides before it answers.

Bounded by default (SOAK_RUNS=100, SOAK_KILLS=20, about a minute or two per database); set
SOAK_RUNS, SOAK_KILLS and SOAK_SEED for a longer one. The same seed makes the same choices
(when to kill, how often an automation fails). Run with `-s` to see the figures.
"""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path
from random import Random

import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from bot.store.db import make_engine
from bot.store.migrate import upgrade
from tests.fakeslack import FakeSlack
from tests.soak.checks import (
    Findings,
    check_effects,
    check_messages,
    check_runs,
    check_steps,
    read_ledger,
)
from tests.soak.driver import LOST, LOST_FORM, Driver, read_runs
from tests.soak.process import ServeProcess

WORKFLOWS = Path(__file__).parent / "workflows"
FINAL = ("completed", "failed", "cancelled")
KILL_GAP_SECONDS = (0.3, 2.0)
EARLY_KILLS = 0.2  # the share of kills timed from the restart itself, so some land while it starts up
IN_FLIGHT_KILLS = 0.4  # the share of kills made while a message is on its way to Slack
IN_FLIGHT_HANG_SECONDS = 0.5  # Slack takes that long to answer it, and keeps it all the same
START_SECONDS_PER_RUN = 0.2
QUIET_TIMEOUT_SECONDS = 240.0
TICK_SECONDS = 0.05


def _setting(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _up(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=0.3).read()
        return True
    except OSError:
        return False


def _quiet(engine, runs: list[dict], tickets: int) -> bool:
    if len({r["ticket"] for r in runs}) < tickets or any(r["status"] not in FINAL for r in runs):
        return False
    with engine.connect().execution_options(conductor_read_only=True) as conn:
        return not conn.execute(text("select count(*) from outbox where status in ('pending', 'sending')")).scalar()


def _message_in_flight(fake: FakeSlack, tick) -> None:
    """Hold Slack's answer to the next post, and return once that post is on its way (or
    after a second): a kill now leaves a message Slack has, that the bot never heard of."""
    before = len(fake.calls_to("chat.postMessage"))
    fake.hang_next("chat.postMessage", IN_FLIGHT_HANG_SECONDS)
    deadline = time.monotonic() + 1.0
    while len(fake.calls_to("chat.postMessage")) == before and time.monotonic() < deadline:
        tick()
        time.sleep(0.01)


@pytest.mark.soak
def test_crash_soak(db_url, tmp_path):
    seed, tickets, kills = _setting("SOAK_SEED", 1), _setting("SOAK_RUNS", 100), _setting("SOAK_KILLS", 20)
    rng = Random(seed)
    upgrade(db_url)
    ledger = tmp_path / "ledger.jsonl"
    (tmp_path / "logs").mkdir()
    engine = make_engine(db_url, poolclass=NullPool)
    try:
        with FakeSlack() as fake:
            server = ServeProcess(db_url, WORKFLOWS, fake.url, tmp_path / "logs",
                                  extra_env={"SOAK_LEDGER": str(ledger), "SOAK_SEED": str(seed)})
            driver = Driver(fake, engine, lambda: read_ledger(ledger), rng, tickets, seed,
                            life=lambda: len(server.lives), url=server.events_url)

            def tick() -> list[dict]:
                now = time.monotonic()
                runs = read_runs(engine)
                driver.start_runs(now, {r["ticket"] for r in runs}, int((now - began) / START_SECONDS_PER_RUN) + 1)
                for run in runs:
                    if run["status"] not in FINAL:
                        driver.act(now, run)
                return runs

            server.start()
            assert server.wait_up(), server.lives[-1].text()
            began = time.monotonic()
            next_kill: float | None = began + rng.uniform(*KILL_GAP_SECONDS)
            done = 0
            while done < kills:
                tick()
                now = time.monotonic()
                if next_kill is None and _up(server.port):
                    next_kill = now + rng.uniform(*KILL_GAP_SECONDS)
                if next_kill is not None and now >= next_kill:
                    if rng.random() < IN_FLIGHT_KILLS:
                        _message_in_flight(fake, tick)
                        driver.counts["kills with a message in flight"] += 1
                    server.kill()
                    done += 1
                    server.start()
                    early = rng.random() < EARLY_KILLS
                    next_kill = time.monotonic() + rng.uniform(*KILL_GAP_SECONDS) if early and done < kills else None
                time.sleep(TICK_SECONDS)

            # The last life must come up and lead the clock, or nothing would finish.
            deadline = time.monotonic() + QUIET_TIMEOUT_SECONDS
            assert server.wait_up(), server.lives[-1].text()[-3000:]
            while not server.lives[-1].led() and time.monotonic() < deadline:
                tick()
                time.sleep(TICK_SECONDS)
            while not _quiet(engine, tick(), tickets) and time.monotonic() < deadline:
                time.sleep(TICK_SECONDS * 4)
            soak_seconds = time.monotonic() - began
            status = server.stop()

            found = Findings()
            runs = check_runs(engine, tickets, found)
            check_steps(engine, found)
            check_effects(read_ledger(ledger), runs, found)
            check_messages(engine, fake, found)
            found.counts["429 from Slack"] = fake.ratelimited_count
            found.counts["messenger look-ups after a crash"] = len(fake.calls_to("conversations.history")) + len(
                fake.calls_to("conversations.replies"))
    finally:
        engine.dispose()

    lives = server.lives
    tracebacks = [life.number for life in lives if "Traceback" in life.text()]
    print(f"\ncrash soak on {db_url.split(':')[0]}, seed {seed}, {soak_seconds:.0f} s")
    print(f" tried: runs {tickets}, kills {done}, lives {len(lives)}")
    for name, n in sorted(driver.counts.items()):
        print(f"  {name}: {n}")
    print(f"  => {LOST}: {driver.counts[LOST]}; {LOST_FORM}: {driver.counts[LOST_FORM]}")
    print(" found:")
    print(found.summary())
    print(f"  lives that led the clock: {sum(life.led() for life in lives)} of {len(lives)}; "
          f"waited for the lock: {sum(life.stood_by() > 0 for life in lives)}; with a traceback: {tracebacks}")

    assert status == 0, lives[-1].text()[-3000:]
    assert lives[-1].led(), "the last process never led the clock"
    assert all(life.stood_by() <= 1 for life in lives), "a restarted process waited more than one poll for the lock"
    assert driver.counts["answered with form errors"] == 0
    assert driver.counts[LOST] == 0, f"{LOST}: {driver.counts[LOST]}"
    assert not found.problems, found.summary()
