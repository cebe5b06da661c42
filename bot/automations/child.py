"""The child process one try of a Python automation runs in (see `python_runner`).

Started by the bot as `python -I -c <bootstrap> <sys.path as JSON>`, it waits for one request,
a JSON object on stdin:

    {"uses": "package.module:function", "workflows_dir": "...",
     "context": {"run_id", "step_id", "attempt", "idempotency_key", "inputs", "steps", "params"},
     "logger": "conductor.automation.<step>", "marker": "<random text>"}

then imports the function, calls it with an `AutomationContext` and exits. What it writes on
its stdout are JSON lines: `{"log": {...}}` for each record logged while it runs (the bot logs
them again, and keeps its own logger's lines for `output_tail`), then one `{"answer": {...}}`:
`ok` with `outputs`, or `error`, `retryable` and a traceback `detail`. Whatever the function
prints goes to stderr (file descriptor 1 is pointed there), so it cannot spoil the answer; the
marker is written on stderr just before the answer, so the bot knows it has all of it.

The workflows folder is put *last* on `sys.path`: its packages import (`automations.blog`),
but a module there named like an installed library (`holidays.py`) cannot replace it.

This module imports only the standard library and `bot.automations.context`, so that a child
is ready soon after it starts.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import IO, Any

from bot.automations.context import AutomationContext, AutomationError
from bot.automations.deadline import describe_error  # standard library only, like this module

TRACEBACK_LINES = 12
ORPHAN_CHECK_SECONDS = 0.2


class LoadError(AutomationError):
    """The callable named by `uses` cannot be found; another try cannot help."""

    def __init__(self, message: str, *, detail: str = ""):
        super().__init__(message, retryable=False)
        self.detail = detail


def load_callable(uses: str) -> Callable[[AutomationContext], Any]:
    """Import `package.module:function`; raises `LoadError` with a readable message."""
    module_name, sep, function_name = uses.partition(":")
    if not sep or not module_name or not function_name:
        raise LoadError(f"`{uses}` is not a callable reference: write `package.module:function`")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if module_name == missing or module_name.startswith(missing + "."):
            raise LoadError(
                f"cannot import `{module_name}` for `uses: {uses}`: there is no module `{missing}` "
                "in the workflows folder or the installed packages"
            ) from None
        raise LoadError(
            f"cannot import `{module_name}`: it needs the module `{missing}`, which is not installed",
            detail=traceback_tail(exc),
        ) from None
    except Exception as exc:  # noqa: BLE001 - the module's own code failed while importing
        raise LoadError(f"cannot import `{module_name}`: {describe_error(exc)}", detail=traceback_tail(exc)) from None
    function = getattr(module, function_name, None)
    if function is None:
        raise LoadError(f"module `{module_name}` has no function `{function_name}`")
    if not callable(function):
        raise LoadError(f"`{uses}` is not a function (it is a `{type(function).__name__}` value)")
    return function


def traceback_tail(exc: BaseException) -> str:
    lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).splitlines()
    return "\n".join(lines[-TRACEBACK_LINES:])


def call(uses: str, context: AutomationContext) -> dict[str, Any]:
    """Import and call the function; the answer as a dict (`ok`, `outputs` or `error`,
    `retryable`, `detail`). Never raises for the function's faults."""
    try:
        value = load_callable(uses)(context)
    except LoadError as exc:
        return {"ok": False, "error": str(exc), "retryable": False, "detail": exc.detail}
    except AutomationError as exc:
        return {"ok": False, "error": str(exc).strip() or f"`{uses}` failed", "retryable": exc.retryable}
    except BaseException as exc:  # noqa: BLE001 - SystemExit too: reported, never lost
        return {"ok": False, "error": describe_error(exc), "retryable": True, "detail": traceback_tail(exc)}
    return outputs_answer(uses, value)


def outputs_answer(uses: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {"ok": False, "error": f"`{uses}` returned {_kind(value)}, not a mapping of outputs", "retryable": False}
    bad_keys = [key for key in value if not isinstance(key, str)]
    if bad_keys:
        return {"ok": False, "retryable": False,
                "error": f"`{uses}` returned outputs whose names are not text: {', '.join(repr(k) for k in bad_keys[:5])}"}
    return {"ok": True, "outputs": dict(value)}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (None)"
    if hasattr(value, "__await__"):
        return "a coroutine (automations are plain functions, not `async def`)"
    return f"a {type(value).__name__}"


def jsonable(value: Any) -> Any:
    """`json.dumps` default: dates and times as ISO text, sets as lists; anything else refused."""
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"a `{type(value).__name__}` value is not JSON data")


def workflows_last(folder: str, path: list[str]) -> list[str]:
    """`path` without the workflows folder (and without `''`), then the folder at its end."""
    absolute = os.path.realpath(folder)
    kept = [entry for entry in path if entry and _real(entry) != absolute]
    return [*kept, absolute]


def _real(entry: str) -> str:
    try:
        return os.path.realpath(entry)
    except (TypeError, ValueError):
        return entry


_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class _Forward(logging.Handler):
    """Sends every record logged in the child to the bot, as a JSON line."""

    def __init__(self, out: IO[str]):
        super().__init__(level=logging.DEBUG)
        self._out = out

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not break the call
            message = repr(record.msg)
        exc = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else record.exc_text
        # Fields given with `extra=` travel too: the bot's JSON logs show them (masked there).
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        _send(self._out, {"log": {"name": record.name, "level": record.levelno, "message": message,
                                  "exception": exc or None, "extra": extra}})


def _send(out: IO[str], item: dict[str, Any]) -> None:
    try:
        line = json.dumps(item, default=jsonable)
    except (TypeError, ValueError) as exc:
        if "answer" not in item:
            raise
        line = json.dumps({"answer": {"ok": False, "retryable": False,
                                      "error": f"the outputs are not JSON data: {describe_error(exc)}"}})
    out.write(line + "\n")
    out.flush()


def _stop_when_orphaned(parent: int) -> None:
    """The bot is gone (killed, or exited with this try running): stop the try's whole group,
    as the bot would have at the timeout."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os.killpg(0, signal.SIGKILL)


def main() -> None:
    """Serve one request from stdin; the answer on the original stdout."""
    parent = os.getppid()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")  # not inherited by what the function starts
    os.dup2(2, 1)  # print() and the like go to stderr
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        return  # the bot let a waiting child go
    threading.Thread(target=_stop_when_orphaned, args=(parent,), daemon=True, name="conductor-orphan").start()
    request = json.loads(raw)
    sys.path[:] = workflows_last(request["workflows_dir"], sys.path) if request.get("workflows_dir") else sys.path
    importlib.invalidate_caches()
    root = logging.getLogger()
    root.handlers[:] = [_Forward(out)]
    root.setLevel(logging.DEBUG)  # the bot decides what it keeps, by its own levels
    fields = request["context"]
    context = AutomationContext(
        run_id=fields["run_id"], step_id=fields["step_id"], attempt=fields["attempt"],
        idempotency_key=fields["idempotency_key"], inputs=fields.get("inputs") or {},
        steps=fields.get("steps") or {}, params=fields.get("params") or {},
        logger=logging.getLogger(request.get("logger") or "conductor.automation"),
    )
    answer = call(request["uses"], context)
    # What was printed reaches the bot before the answer: the marker tells it where it ends.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if request.get("marker"):
        os.write(2, f"\n{request['marker']}\n".encode())
    _send(out, {"answer": answer})
    out.close()
    logging.shutdown()


__all__ = ["LoadError", "call", "describe_error", "load_callable", "main"]
