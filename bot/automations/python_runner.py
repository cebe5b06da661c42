"""`uses: package.module:function`: call a Python function of the workflows folder, each try
in a child process of its own.

The child (`bot.automations.child`) imports the function and calls it with one
`AutomationContext`; it must return a mapping of outputs (JSON data: dates and times come
back as ISO text). The child has the bot's interpreter, environment, working directory and
import path, with one difference:

**The workflows folder goes last on the path.** `automations.blog:fn` imports
`<workflows>/automations/blog.py`, but a module of the workflows folder cannot replace an
installed one: `holidays.py` there does not shadow the `holidays` library (name a workflows
package so that no installed package has its name). The bot's own `sys.path` is never
changed. Each try imports the module afresh, so an edited automation is used by the next try.

How a call ends:

- a mapping: success, its items are the outputs;
- anything else returned: a failure that is not retried (the code must change);
- `AutomationError(message, retryable=...)`: a failure with that message and flag;
- any other exception: a retryable failure `ExceptionType: message`; the last lines of the
  traceback go to `output_tail`, never into the error text;
- the module cannot be imported, or has no such function: a failure that is not retried;
- no answer within the timeout: a retryable failure `timed out after ...`, returned on time.
  The child's whole process group is killed (SIGKILL) then, so the try has no effect after
  its timeout: nothing it was doing goes on while the next try runs. (Processes it started in
  a session of their own are out of reach, as for commands.)
- the child dies without answering: a retryable failure.

Lines logged in the child are logged again in the bot (at the levels its configuration lets
through); those of `ctx.logger`, and whatever the function printed, are kept for
`output_tail`. Secrets are masked in every error and tail returned.

Cost: a child is started ahead of need (one waits, idle, for the next try), so a try pays for
sending the request and importing the module, not for an interpreter's start; once the function
has answered, the outcome is returned while its process exits (it is killed if it lingers past
half a second). `python -m tests.benchmarks` measures it. A waiting child is used only while the bot's
environment, working directory and path are those it was started with; it exits when the bot
does (its stdin closes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import IO, Any

from bot.automations.child import jsonable
from bot.automations.context import AutomationContext
from bot.automations.outcome import RunOutcome, describe_seconds, tail
from bot.automations.secrets import Redactor

# `-I`: no user site, no PYTHON* variables, and neither the working directory nor a script's
# folder prepended to the path; the path is then set to the bot's, from the first argument.
BOOTSTRAP = ("import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
             "from bot.automations.child import main; main()")
EXIT_WAIT_SECONDS = 0.5  # after the answer, for the child to exit on its own
MARKER_WAIT_SECONDS = 0.5  # after the answer, for what it printed before to be read
STDERR_CAP = 64 * 1024
LOG_LINES = 200

__all__ = ["run_python", "shutdown_children"]


def run_python(
    uses: str,
    context: AutomationContext,
    *,
    timeout: float,
    redactor: Redactor | None = None,
    workflows_dir: str | os.PathLike[str] | None = None,
) -> RunOutcome:
    """Call the function named by `uses` with `context` in a child process; never raises for
    the function's faults.

    `context.params` must already hold resolved secrets; `redactor` masks them in what is
    returned. `workflows_dir` is appended to the child's import path.
    """
    redact = redactor or Redactor()
    request = {
        "uses": uses,
        "workflows_dir": os.path.realpath(os.fspath(workflows_dir)) if workflows_dir is not None else None,
        "logger": context.logger.name,
        "context": {"run_id": context.run_id, "step_id": context.step_id, "attempt": context.attempt,
                    "idempotency_key": context.idempotency_key, "inputs": context.inputs,
                    "steps": context.steps, "params": context.params},
    }
    marker = f"conductor-answer-{uuid.uuid4().hex}"
    data = (json.dumps({**request, "marker": marker}, default=_request_default) + "\n").encode()
    try:
        child = _POOL.take()
    except OSError as exc:
        return RunOutcome.failure(f"cannot start a process for `{uses}`: {exc.strerror or exc}", retryable=True)
    answered = False
    try:
        finished = child.serve(data, timeout, context.logger, redact)
        answered = finished and child.answer is not None
    finally:
        if answered:
            # The function has returned: its process may take its few milliseconds to exit
            # (and is killed if it takes longer) while the outcome goes on.
            threading.Thread(target=child.stop, daemon=True, name="conductor-python-exit").start()
        else:
            child.stop()  # killed before the outcome is returned: no effect after a timeout
    logged = _join("\n".join(child.lines), child.stderr_text(marker if answered else None))
    if not finished:
        return RunOutcome.failure(
            f"timed out after {describe_seconds(timeout)} (`{uses}` did not return; its process was stopped)",
            retryable=True, output_tail=tail(redact(logged)),
        )
    answer = child.answer
    if answer is None:
        code = child.proc.returncode
        how = f"was killed by {_signal_name(-code)}" if code is not None and code < 0 else f"exited with code {code}"
        return RunOutcome.failure(f"the process of `{uses}` {how} without an answer", retryable=True,
                                  output_tail=tail(redact(logged)))
    if answer.get("ok"):
        return RunOutcome.success(dict(answer.get("outputs") or {}), output_tail=tail(redact(logged)))
    return RunOutcome.failure(
        redact(str(answer.get("error") or f"`{uses}` failed")), retryable=bool(answer.get("retryable", True)),
        output_tail=tail(redact(_join(logged, str(answer.get("detail") or "")))),
    )


def _request_default(value: Any) -> Any:
    try:
        return jsonable(value)
    except TypeError:
        return str(value)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _join(*parts: str) -> str:
    return "\n".join(part.rstrip() for part in parts if part and part.strip())


@dataclass
class _Child:
    """One started child: its process, and the threads that read what it writes."""

    proc: subprocess.Popen[bytes]
    key: tuple[Any, ...]
    lines: list[str] = field(default_factory=list)  # `LEVEL message` of ctx.logger
    answer: dict[str, Any] | None = None
    _stderr: bytearray = field(default_factory=bytearray)
    _stderr_closed: bool = False
    _written: threading.Condition = field(default_factory=threading.Condition)
    _readers: list[threading.Thread] = field(default_factory=list)

    def start_readers(self) -> None:
        # stderr is drained from the start, so a child that writes a lot never blocks on it.
        thread = threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True,
                                  name="conductor-python-stderr")
        thread.start()
        self._readers.append(thread)

    def serve(self, data: bytes, timeout: float, logger: logging.Logger, redact: Redactor) -> bool:
        """Send the request and read the answer; False if it did not come within `timeout`."""
        reader = threading.Thread(target=self._read, args=(self.proc.stdout, logger, redact), daemon=True,
                                  name="conductor-python-answer")
        reader.start()
        self._readers.append(reader)
        started = time.monotonic()
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.close()
        except OSError:
            pass  # the child is gone: it ends without an answer, which says so
        reader.join(max(timeout - (time.monotonic() - started), 0.0))
        return not reader.is_alive()

    def stop(self) -> None:
        """Let the child exit if it answered, then kill whatever is left of its group."""
        if self.answer is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(EXIT_WAIT_SECONDS)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # the child leads its own process group
        self.proc.wait()
        for thread in self._readers:
            thread.join(0.2)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()

    def stderr_text(self, marker: str | None = None) -> str:
        """What the child wrote on stderr; with `marker`, what it wrote before it (waited for
        a moment: the marker is written before the answer, but read by another thread)."""
        if marker is None:
            with self._written:
                return bytes(self._stderr).decode("utf-8", errors="replace")
        end = f"\n{marker}\n".encode()
        with self._written:
            self._written.wait_for(lambda: end in self._stderr or self._stderr_closed, MARKER_WAIT_SECONDS)
            text = bytes(self._stderr)
        return text.split(end, 1)[0].decode("utf-8", errors="replace")

    def _drain(self, pipe: IO[bytes]) -> None:
        fd = pipe.fileno()
        try:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                with self._written:
                    self._stderr += chunk
                    if len(self._stderr) > STDERR_CAP:
                        del self._stderr[: len(self._stderr) - STDERR_CAP]
                    self._written.notify_all()
        finally:
            with self._written:
                self._stderr_closed = True
                self._written.notify_all()

    def _read(self, pipe: IO[bytes], logger: logging.Logger, redact: Redactor) -> None:
        for raw in pipe:
            try:
                item = json.loads(raw)
            except ValueError:
                continue  # not ours: the child writes only JSON lines here
            if not isinstance(item, dict):
                continue
            if "answer" in item and isinstance(item["answer"], dict):
                self.answer = item["answer"]
            elif isinstance(item.get("log"), dict):
                self._relog(item["log"], logger, redact)

    def _relog(self, entry: dict[str, Any], logger: logging.Logger, redact: Redactor) -> None:
        name = str(entry.get("name") or "root")
        level = entry.get("level") if isinstance(entry.get("level"), int) else logging.INFO
        message = redact(str(entry.get("message", "")))
        own = name == logger.name or name.startswith(logger.name + ".")
        target = logger if name == logger.name else logging.getLogger(name)
        if not target.isEnabledFor(level):
            return
        if own:
            self.lines.append(f"{logging.getLevelName(level)} {message}")
            if len(self.lines) > LOG_LINES:
                del self.lines[:-LOG_LINES]
        given = entry.get("extra")
        extra = {k: v for k, v in given.items() if isinstance(k, str) and k not in _RECORD_FIELDS} \
            if isinstance(given, dict) else None
        record = target.makeRecord(target.name, level, "(automation)", 0, message, None, None, extra=extra)
        exception = entry.get("exception")
        if exception:
            record.exc_text = redact(str(exception))
        target.handle(record)


_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class _Pool:
    """Keeps one child started ahead of the next try (each child serves one try)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: _Child | None = None

    def take(self) -> _Child:
        key = _key()
        with self._lock:
            waiting, self._idle = self._idle, None
        if waiting is not None and (waiting.key != key or waiting.proc.poll() is not None):
            waiting.stop()
            waiting = None
        child = waiting or _spawn(key)
        threading.Thread(target=self._refill, args=(key,), daemon=True, name="conductor-python-spare").start()
        return child

    def _refill(self, key: tuple[Any, ...]) -> None:
        try:
            spare = _spawn(key)
        except OSError:
            return
        with self._lock:
            if self._idle is None:
                self._idle, spare = spare, None
        if spare is not None:
            spare.stop()

    def close(self) -> None:
        with self._lock:
            waiting, self._idle = self._idle, None
        if waiting is not None:
            waiting.stop()


def _key() -> tuple[Any, ...]:
    cwd = os.getcwd()
    path = tuple(os.path.join(cwd, entry) if not os.path.isabs(entry or ".") else entry for entry in sys.path)
    return (sys.executable, path, cwd, tuple(sorted(os.environ.items())))


def _spawn(key: tuple[Any, ...]) -> _Child:
    executable, path, cwd, environ = key
    proc = subprocess.Popen(
        [executable, "-I", "-c", BOOTSTRAP, json.dumps(list(path))], cwd=cwd, env=dict(environ),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        close_fds=True,
    )
    child = _Child(proc, key)
    child.start_readers()
    return child


_POOL = _Pool()


def shutdown_children() -> None:
    """Stop the child waiting for the next try (it would exit with the bot anyway)."""
    _POOL.close()
