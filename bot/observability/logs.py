"""`configure_logging(settings)`: how `conductor serve` and `conductor clock` write their logs.

`LOG_FORMAT=json` writes one JSON object per line (`time`, `level`, `logger`, `message`, the
`run_id` / `step_id` of the work when known, `exception` when there is one, and any `extra=`
fields), for log shippers; anything else writes plain text for people. Either way every record
is masked for secrets before it is written (see `redaction`).

`LOG_LEVEL` (`info` by default) sets the level. Conductor writes one line per meaningful thing
(a run started or finished, a step escalated, a message Slack refused, leadership won or lost);
the libraries' own chatter (APScheduler's two lines per job run, every second for the poll;
Slack's request lines; the web server's) stays below WARNING unless `LOG_LEVEL=debug`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO

from bot.observability.context import ContextFilter
from bot.observability.redaction import STANDARD_ATTRIBUTES, RedactingFilter, remember_settings
from bot.settings import LOG_LEVELS as SETTINGS_LOG_LEVELS
from bot.settings import Settings

TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
ID_FIELDS = ("run_id", "step_id")
# The names Settings accepts (`bot.settings.LOG_LEVELS`), as `logging` levels.
LOG_LEVELS = {name: logging.getLevelNamesMapping()[name.upper()] for name in SETTINGS_LOG_LEVELS}
# Libraries whose INFO and DEBUG lines are about their own workings, not about Conductor's work:
# they log WARNING and above unless LOG_LEVEL=debug.
QUIET_LIBRARIES = ("apscheduler", "slack_sdk", "slack_bolt", "waitress", "urllib3", "alembic.runtime")


class LibraryChatterFilter(logging.Filter):
    """Drops the quiet libraries' records below `threshold`. Their loggers' levels already keep
    most of them out; this catches loggers that set their own level (Bolt copies the root's
    level onto its loggers when an app is built)."""

    def __init__(self, threshold: int):
        super().__init__()
        self.threshold = threshold
        self.prefixes = tuple(f"{name}." for name in QUIET_LIBRARIES)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= self.threshold:
            return True
        return not (record.name in QUIET_LIBRARIES or record.name.startswith(self.prefixes))


def log_level(value: str) -> int:
    """The `logging` level LOG_LEVEL names (any case); ValueError naming the allowed values."""
    level = LOG_LEVELS.get(value.strip().lower())
    if level is None:
        raise ValueError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return level


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in STANDARD_ATTRIBUTES and not name.startswith("_") and value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The classic line, with `[run=… step=…]` after the message when the work is known."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # logging's name
        line = super().formatMessage(record)
        ids = " ".join(f"{name.removesuffix('_id')}={getattr(record, name)}"
                       for name in ID_FIELDS if getattr(record, name, None))
        return f"{line} [{ids}]" if ids else line


class ConductorHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs (recognised, so configuring again replaces it)."""


class StderrHandler(ConductorHandler):
    """Writes to whatever `sys.stderr` is when a line is written (it may be replaced later)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr


def configure_logging(settings: Settings, *, stream: IO[str] | None = None, level: int | None = None) -> logging.Handler:
    """Send every log record to `stream` (default: standard error), in the format the settings
    ask for, with run/step ids and secrets masked, at the level LOG_LEVEL names (or `level`).
    Calling it again replaces the handler. ValueError when LOG_LEVEL is not a level."""
    root_level = log_level(settings.log_level) if level is None else level
    remember_settings(settings)
    # At debug the libraries follow the root; otherwise they say only what is wrong.
    library_level = logging.NOTSET if root_level <= logging.DEBUG else max(root_level, logging.WARNING)
    handler = ConductorHandler(stream) if stream is not None else StderrHandler()
    if library_level != logging.NOTSET:
        handler.addFilter(LibraryChatterFilter(library_level))
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format.strip().lower() == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, ConductorHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    # First in line: its filters mask the record in place, so handlers installed before this
    # one (a library's, a test runner's) never see a secret either.
    root.handlers.remove(handler)
    root.handlers.insert(0, handler)
    root.setLevel(root_level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(library_level)
    return handler


@contextmanager
def quieted(logger_name: str) -> Iterator[None]:
    """Drop one library logger's lines for the length of the block: for a line that library
    writes about something we have already handled (or that cannot apply to us). A filter, not
    a level: some libraries (Bolt) set their loggers' levels themselves as they start."""
    logger = logging.getLogger(logger_name)
    silence = _DropAll()
    logger.addFilter(silence)
    try:
        yield
    finally:
        logger.removeFilter(silence)


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False
