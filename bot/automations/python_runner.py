"""`uses: package.module:function`: call a Python function of the workflows folder.

The workflows folder is put on `sys.path` (`workflows_on_path`), so `automations.blog:fn`
imports `<workflows>/automations/blog.py`. The function is called with one
`AutomationContext` and must return a mapping of outputs.

How a call ends:

- a mapping: success, its items are the outputs;
- anything else returned: a failure that is not retried (the code must change);
- `AutomationError(message, retryable=...)`: a failure with that message and flag;
- any other exception: a retryable failure `ExceptionType: message`; the last lines of the
  traceback go to `output_tail`, never into the error text;
- the module cannot be imported, or has no such function: a failure that is not retried;
- no answer within the timeout: a retryable failure `timed out after ...`, returned on time.
  The call runs in a worker thread, which is abandoned then (Python cannot stop a thread):
  it may still finish later, but its result is dropped, and the engine ignores results of
  tries older than the current one anyway. Pass `ctx.idempotency_key` to external systems
  so that the abandoned try and the next one have one effect.

Lines the function logs through `ctx.logger` (at levels the bot's logging configuration
lets through) are kept for `output_tail`. Secrets are masked in every error and tail returned.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from bot.automations.context import AutomationContext, AutomationError
from bot.automations.deadline import call_with_deadline, describe_error
from bot.automations.outcome import RunOutcome, describe_seconds, tail
from bot.automations.secrets import Redactor

_PATH_LOCK = threading.Lock()
TRACEBACK_LINES = 12


def workflows_on_path(folder: str | os.PathLike[str]) -> str:
    """Put the workflows folder first on `sys.path` (once) so its packages import; idempotent.

    Returns the absolute folder. The folder stays on the path: the bot imports from it for
    as long as it runs.
    """
    absolute = os.path.realpath(os.fspath(folder))
    with _PATH_LOCK:
        if not any(_same_folder(entry, absolute) for entry in sys.path):
            sys.path.insert(0, absolute)
            importlib.invalidate_caches()
    return absolute


def _same_folder(entry: str, absolute: str) -> bool:
    try:
        return os.path.realpath(entry or os.curdir) == absolute
    except (TypeError, ValueError):
        return False


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
            detail=_traceback_tail(exc),
        ) from None
    except Exception as exc:  # noqa: BLE001 - the module's own code failed while importing
        raise LoadError(f"cannot import `{module_name}`: {describe_error(exc)}", detail=_traceback_tail(exc)) from None
    function = getattr(module, function_name, None)
    if function is None:
        raise LoadError(f"module `{module_name}` has no function `{function_name}`")
    if not callable(function):
        raise LoadError(f"`{uses}` is not a function (it is a `{type(function).__name__}` value)")
    return function


def run_python(
    uses: str,
    context: AutomationContext,
    *,
    timeout: float,
    redactor: Redactor | None = None,
) -> RunOutcome:
    """Call the function named by `uses` with `context`; never raises for the function's faults.

    `context.params` must already hold resolved secrets; `redactor` masks them in what is
    returned. The caller puts the workflows folder on the path first (`workflows_on_path`).
    """
    redact = redactor or Redactor()
    logs = _LogTail()
    context.logger.addHandler(logs)
    try:
        finished = call_with_deadline(lambda: load_callable(uses)(context), timeout, name=context.step_id)
    finally:
        context.logger.removeHandler(logs)
    logged = logs.text()

    if finished is None:
        return RunOutcome.failure(
            f"timed out after {describe_seconds(timeout)} (`{uses}` did not return)",
            retryable=True, output_tail=tail(redact(logged)),
        )
    exc = finished.error
    if exc is None:
        return _outputs(uses, finished.value, redact, logged)
    if isinstance(exc, LoadError):
        return RunOutcome.failure(redact(str(exc)), retryable=False, output_tail=tail(redact(_join(logged, exc.detail))))
    if isinstance(exc, AutomationError):
        message = str(exc).strip() or f"`{uses}` failed"
        return RunOutcome.failure(redact(message), retryable=exc.retryable, output_tail=tail(redact(logged)))
    return RunOutcome.failure(
        redact(describe_error(exc)), retryable=True, output_tail=tail(redact(_join(logged, _traceback_tail(exc)))),
    )


def _outputs(uses: str, value: Any, redact: Redactor, logged: str) -> RunOutcome:
    if not isinstance(value, Mapping):
        return RunOutcome.failure(
            f"`{uses}` returned {_kind(value)}, not a mapping of outputs",
            retryable=False, output_tail=tail(redact(logged)),
        )
    bad_keys = [key for key in value if not isinstance(key, str)]
    if bad_keys:
        return RunOutcome.failure(
            f"`{uses}` returned outputs whose names are not text: {', '.join(redact(repr(k)) for k in bad_keys[:5])}",
            retryable=False, output_tail=tail(redact(logged)),
        )
    return RunOutcome.success(dict(value), output_tail=tail(redact(logged)))


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (None)"
    if hasattr(value, "__await__"):
        return "a coroutine (automations are plain functions, not `async def`)"
    return f"a {type(value).__name__}"


def _traceback_tail(exc: BaseException) -> str:
    lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).splitlines()
    return "\n".join(lines[-TRACEBACK_LINES:])


def _join(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


class _LogTail(logging.Handler):
    """Keeps the last lines an automation logs while it runs."""

    def __init__(self, keep: int = 200):
        super().__init__(level=logging.DEBUG)
        self._keep = keep
        self._lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = f"{record.levelname} {record.getMessage()}"
        except Exception:  # noqa: BLE001 - a bad format string must not break the call
            line = f"{record.levelname} {record.msg!r}"
        self._lines.append(line)
        if len(self._lines) > self._keep:
            del self._lines[: -self._keep]

    def text(self) -> str:
        return "\n".join(self._lines)
