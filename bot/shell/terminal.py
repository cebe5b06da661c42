"""`conductor shell`: the rehearsal at a terminal, or from a script file.

A script is the lines a person would type, one per line (`#` starts a comment). It stops at
the first `:expect`/`:seen` that does not hold and the command exits 1, so a rehearsal of a
workflow can run in CI.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TextIO

from bot.shell.player import ExpectationFailed, LineError, Player, Stop
from bot.shell.session import Session

log = logging.getLogger("conductor.shell")


def wants_color(stream: TextIO) -> bool:
    """Colour on a terminal that can show it, unless NO_COLOR asks for none."""
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def run_shell(*, workflows_dir: str, database_url: str | None, as_user: str | None, script: str | None,
              start: datetime | None, live_http: bool, color: bool | None = None,
              out: TextIO = sys.stdout, read: Callable[[str], str] | None = None) -> int:
    # The app's own log lines would interleave with the conversation: keep only problems.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with Session(workflows_dir=workflows_dir, database_url=database_url, start=start,
                 color=wants_color(out) if color is None else color, live_http=live_http) as session:
        player = Player(session)
        if as_user:
            session.user = session.cast.find(as_user)
        write = _writer(out)
        if script is not None:
            write([player.style.error(problem) for problem in session.problems])
            with open(script, encoding="utf-8") as lines:
                return play_script(player, lines, write, name=script)
        write(player.welcome())
        return _interactive(player, write, read or _reader())


def play_script(player: Player, lines: Iterable[str], write: Callable[[list[str]], None], *, name: str) -> int:
    """Play each line, echoing it; 1 at the first failed expectation, else 0."""
    for number, line in enumerate(lines, 1):
        text = line.rstrip("\n")
        if text.lstrip().startswith("#") or not text.strip() and player.form is None:
            continue  # (an empty line in a form answers the field: left empty)
        write([player.style.dim(f"{player.prompt()}{text}")])
        try:
            write(player.play(text))
        except (ExpectationFailed, LineError) as exc:
            write([player.style.error(f"{name}:{number}: {exc}")])
            return 1
        except Stop:
            return 0
    if player.form is not None:
        write([player.style.error(f"{name}: the script ended with a form still open")])
        return 1
    return 0


def _interactive(player: Player, write: Callable[[list[str]], None], read: Callable[[str], str]) -> int:
    while True:
        try:
            line = read(player.prompt())
        except (EOFError, KeyboardInterrupt):
            write([""])
            return 0
        try:
            write(player.play(line))
        except (ExpectationFailed, LineError) as exc:
            write([player.style.error(str(exc))])
        except Stop:
            return 0
        except Exception:  # a rehearsal goes on; the log says what broke
            log.exception("the shell could not play %r", line)
            write([player.style.error("that line broke the shell; the error is logged above")])


def _reader() -> Callable[[str], str]:
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - line editing and history at the prompt, where available
    return input


def _writer(out: TextIO) -> Callable[[list[str]], None]:
    def write(lines: list[str]) -> None:
        for line in lines:
            out.write(line + "\n")
        out.flush()

    return write
