"""Every benchmark in one table: figure, target, measured, baseline, ratio to the baseline.

Runs each benchmark script in this process, one after the other, each on a fresh temporary
database; prints the date and the machine, the table, and the same table in Markdown (as the
README quotes it). PostgreSQL rows appear with `--postgres URL` or TEST_DATABASE_URL.

    python -m tests.benchmarks [--quick | --tiny] [--postgres URL]

The full sizes take a few minutes and are the ones to quote; `--quick` (under a minute) and
`--tiny` (seconds, for the tests) only show that everything runs.
"""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.store.db import make_engine, normalize_url
from tests.benchmarks.suite import FULL, QUICK, TINY, collect
from tests.benchmarks.table import Row, machine, markdown_table, text_table


def postgres_version(url: str) -> str:
    """The server's version; checked before any benchmark runs, so a bad URL fails at once."""
    if normalize_url(url).get_backend_name() != "postgresql":
        raise ValueError("not a PostgreSQL URL")
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("show server_version")).scalar_one()).split()[0]
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const=QUICK, dest="sizes",
                      help="every benchmark shrunk: under a minute")
    size.add_argument("--tiny", action="store_const", const=TINY, dest="sizes",
                      help="smallest sizes, for the tests")
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("TEST_DATABASE_URL"),
                        help="also measure the engine on this PostgreSQL database (default: TEST_DATABASE_URL)")
    args = parser.parse_args(argv)
    sizes = args.sizes or FULL
    command = "python -m tests.benchmarks" + ("" if sizes is FULL else f" --{sizes.name}")
    try:
        version = postgres_version(args.postgres) if args.postgres else None
    except (ValueError, SQLAlchemyError) as exc:  # the reason only: the URL may hold a password
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        parser.error(f"cannot measure on PostgreSQL (--postgres or TEST_DATABASE_URL): {reason}")
    header = [*machine(version),
              f"command: {command}" + (" (PostgreSQL from --postgres or TEST_DATABASE_URL)" if args.postgres else "")]

    rows = collect(sizes, args.postgres)

    caveat = "" if sizes is FULL else " (a check that all runs, not figures to quote)"
    print(f"Conductor benchmarks, {sizes.name} sizes{caveat}")
    print("\n".join(header))
    print()
    print(text_table(rows))
    print()
    print("Markdown:")
    print()
    print("\n".join(f"{line}  " for line in header))  # two spaces: a Markdown line break
    print()
    print(markdown_table(rows))
    sys.stdout.flush()
    return rows


if __name__ == "__main__":
    main()
