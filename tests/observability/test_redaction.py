"""The logging pieces on their own: masking of every part of a record, the log context, and
`configure_logging` configured twice."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from urllib.parse import quote

from bot.automations.secrets import MASK
from bot.observability.context import log_context
from bot.observability.logs import ConductorHandler, configure_logging
from bot.observability.redaction import KnownSecrets, RedactingFilter
from bot.settings import Settings

SECRET = 'pa"ss/wörd-42'  # a quote, a slash and a non-ASCII letter: escaped differently everywhere


def masked(record: logging.LogRecord, secrets: KnownSecrets) -> logging.LogRecord:
    assert RedactingFilter(secrets).filter(record)
    return record


def make_record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("conductor.test", logging.INFO, __file__, 1, msg, args or None, None)
    record.__dict__.update(extra)
    return record


def test_every_part_of_a_record_is_masked():
    secrets = KnownSecrets()
    secrets.remember([SECRET, None, ""])
    forms = [SECRET, json.dumps(SECRET)[1:-1], quote(SECRET, safe="")]
    opaque = object()
    record = make_record("a %s b %s c %s", *forms, body={"token": SECRET, "n": 3}, note=f"x{SECRET}x",
                         count=7, things=[SECRET], obj=opaque)
    try:
        raise RuntimeError(f"refused {SECRET}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    record.stack_info = f"Stack (most recent call last): {SECRET}"
    masked(record, secrets)
    assert record.getMessage() == f"a {MASK} b {MASK} c {MASK}"
    assert record.body == {"token": MASK, "n": 3} and record.note == f"x{MASK}x" and record.things == [MASK]
    assert record.count == 7 and record.obj is opaque  # nothing to mask: left as it was
    assert SECRET not in record.exc_text and f"RuntimeError: refused {MASK}" in record.exc_text
    assert SECRET not in record.stack_info


def test_slack_token_shapes_are_masked_even_when_unknown():
    secrets = KnownSecrets()
    text = "bot xoxb-123-456-abcDEF user xoxp-9-9 app xapp-1-A0-77 refresh xoxe-1-abc plain xox-not"
    assert secrets.redact(text) == f"bot xoxb-{MASK} user xoxp-{MASK} app xapp-{MASK} refresh xoxe-{MASK} plain xox-not"


def test_a_message_whose_arguments_do_not_fit_is_kept_not_raised():
    secrets = KnownSecrets()
    secrets.remember(["hunter22"])
    record = masked(make_record("%d items for %s", "many", "hunter22"), secrets)
    assert "hunter22" not in record.getMessage() and "%d items" in record.getMessage()


def test_secrets_learned_later_are_masked_from_then_on():
    secrets = KnownSecrets()
    assert secrets.redact("token later-secret") == "token later-secret"
    secrets.remember_references({"with": {"t": "${{ secrets.OBS_LATER }}", "m": "${{ secrets.OBS_MISSING }}"}},
                                environ={"OBS_LATER": "later-secret"})
    assert secrets.redact("token later-secret") == f"token {MASK}"


def test_the_log_context_is_per_thread_and_restored():
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(Settings(log_format="json", workflows_dir="/nonexistent"), stream=stream)
    try:
        log = logging.getLogger("conductor.test")
        with log_context(run_id="run-outer"):
            with log_context(run_id="run-inner", step_id="s1"):
                log.info("inner")
                other = threading.Thread(target=lambda: log.info("elsewhere"))
                other.start()
                other.join()
            log.info("outer", extra={"step_id": "given"})
        log.info("none")
        again = configure_logging(Settings(log_format="text", workflows_dir="/nonexistent"), stream=stream)
        assert [h for h in root.handlers if isinstance(h, ConductorHandler)] == [again]
        with log_context(run_id="r9"):
            log.info("as text")
        log.info("plain")
        root.removeHandler(again)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = stream.getvalue().splitlines()
    entries = {e["message"]: e for e in map(json.loads, lines[:4])}
    seen = [(m, e.get("run_id"), e.get("step_id")) for m, e in entries.items()]
    assert seen == [("inner", "run-inner", "s1"), ("elsewhere", None, None), ("outer", "run-outer", "given"),
                    ("none", None, None)]
    assert lines[4].endswith("conductor.test INFO as text [run=r9]")
    assert lines[5].endswith("conductor.test INFO plain")
