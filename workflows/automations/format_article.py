"""Format check for an article, run as a command: `python -m automations.format_article`.

Reads the title and word count from its arguments and prints JSON outputs on stdout:
the reading time and a headline trimmed to what social cards show. Exits 2 (a failure that
another try cannot fix) when the input is unusable.
"""

from __future__ import annotations

import argparse
import json
import sys

WORDS_PER_MINUTE = 230
HEADLINE_LIMIT = 70


def format_outputs(title: str, word_count: int) -> dict[str, object]:
    headline = title if len(title) <= HEADLINE_LIMIT else title[: HEADLINE_LIMIT - 1].rsplit(" ", 1)[0] + "…"
    return {"reading_minutes": max(1, round(word_count / WORDS_PER_MINUTE)), "headline": headline}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="format_article")
    parser.add_argument("--title", required=True)
    parser.add_argument("--words", required=True, type=int)
    args = parser.parse_args(argv)
    if args.words <= 0:
        print("word count must be positive", file=sys.stderr)
        return 2
    json.dump(format_outputs(args.title, args.words), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
