"""`run: [program, arg, ...]`: run a command, never through a shell (POSIX).

Arguments are passed to the program as they are (converted with `str()`), so `;`, `&&`, `$(...)`
or quotes in a rendered argument stay literal text. A first argument `python` or `python3`
means the bot's own interpreter (`sys.executable`), so examples work inside a virtualenv.

The command runs in the workflows folder, in a new session (its own process group), with a
small environment: PATH, HOME, LANG and TZ from the bot's, PYTHONPATH with the workflows
folder first, the step's `env:` (secrets resolved), and

    CONDUCTOR_RUN_ID, CONDUCTOR_STEP_ID, CONDUCTOR_ATTEMPT, CONDUCTOR_IDEMPOTENCY_KEY
    CONDUCTOR_WITH   the step's `with:` values as a JSON object

How it ends:

- exit 0: stdout is the outputs, a JSON object (empty stdout: no outputs); anything else
  on stdout is a failure that is not retried;
- exit 2 (usage) or 64-78 (sysexits.h data and configuration errors) except 75
  (EX_TEMPFAIL): a failure that is not retried;
- any other exit code, or death by a signal: a retryable failure;
- no exit within the timeout: the whole process group gets SIGTERM, then SIGKILL after a
  short grace; a retryable failure.

Processes the command leaves running in its group when it exits are stopped the same way
(its exit code still decides the outcome): nothing a step starts outlives it, unless it
leaves the session on purpose.

Each of stdout and stderr is captured up to 1 MiB (stdout from its start, stderr its end).
Secrets are masked in what was captured before any excerpt or tail is cut from it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from bot.automations.outcome import RunOutcome, describe_seconds, excerpt, tail
from bot.automations.secrets import Redactor

OUTPUT_CAP = 1024 * 1024
KILL_GRACE_SECONDS = 2.0
LEFTOVER_WAIT_SECONDS = 0.2  # after the command exits, for its output pipes to close
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "TZ")
PYTHON_NAMES = ("python", "python3")
_READ_SIZE = 65536


def command_environment(
    workflows_dir: str,
    step_env: Mapping[str, Any] | None = None,
    *,
    run_id: str,
    step_id: str,
    attempt: int,
    idempotency_key: str,
    with_values: Mapping[str, Any] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The whole environment of a command; `step_env` must already hold resolved secrets."""
    base = os.environ if base is None else base
    env = {name: base[name] for name in INHERITED_VARIABLES if base.get(name)}
    env.setdefault("PATH", os.defpath)
    inherited_path = base.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.abspath(workflows_dir), inherited_path) if p)
    env.update({str(name): "" if value is None else str(value) for name, value in (step_env or {}).items()})
    env.update({
        "CONDUCTOR_RUN_ID": run_id,
        "CONDUCTOR_STEP_ID": step_id,
        "CONDUCTOR_ATTEMPT": str(attempt),
        "CONDUCTOR_IDEMPOTENCY_KEY": idempotency_key,
        "CONDUCTOR_WITH": json.dumps(dict(with_values or {}), sort_keys=True, default=str, ensure_ascii=False),
    })
    return env


def command_argv(run: Sequence[Any]) -> list[str]:
    """`str()` of each argument, with a leading `python`/`python3` made the bot's interpreter."""
    argv = [str(item) for item in run]
    if argv and argv[0] in PYTHON_NAMES:
        argv[0] = sys.executable
    return argv


def is_retryable_exit(code: int) -> bool:
    return not (code == 2 or (64 <= code <= 78 and code != 75))


def run_command(
    run: Sequence[Any],
    *,
    cwd: str,
    env: Mapping[str, str],
    timeout: float,
    redactor: Redactor | None = None,
    grace: float | None = None,
) -> RunOutcome:
    """Run `run` as an argv list; never raises for the command's own faults."""
    redact = redactor or Redactor()
    grace = KILL_GRACE_SECONDS if grace is None else grace
    if not run:
        return RunOutcome.failure("`run` is empty: give the program and its arguments", retryable=False)
    name = str(run[0])
    if not os.path.isdir(cwd):
        return RunOutcome.failure(f"the workflows folder {cwd} does not exist", retryable=False)
    try:
        proc = subprocess.Popen(
            command_argv(run), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, close_fds=True,
        )
    except FileNotFoundError:
        return RunOutcome.failure(redact(f"cannot run `{name}`: no such program"), retryable=False)
    except PermissionError:
        return RunOutcome.failure(redact(f"cannot run `{name}`: permission denied (is it executable?)"), retryable=False)
    except ValueError as exc:  # e.g. a NUL character in an argument
        return RunOutcome.failure(redact(f"cannot run `{name}`: {exc}"), retryable=False)
    except OSError as exc:
        return RunOutcome.failure(redact(f"cannot run `{name}`: {exc.strerror or exc}"), retryable=True)

    out = _Capture(proc.stdout, keep="head")
    err = _Capture(proc.stderr, keep="tail")
    try:
        try:
            proc.wait(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            _stop_group(proc, grace)
            return _timed_out(name, timeout, out, err, redact)
        # The command has exited; whatever it left running in its group is stopped now.
        for capture in (out, err):
            capture.join(LEFTOVER_WAIT_SECONDS)
        if out.alive or err.alive or _group_alive(proc.pid):
            _stop_group(proc, grace)
    except BaseException:
        _kill_leftovers(proc.pid)
        raise
    finally:
        for capture in (out, err):
            capture.join(1.0)
            capture.close()
    return _finished(name, proc.returncode, out, err, redact)


def _finished(name: str, code: int, out: _Capture, err: _Capture, redact: Redactor) -> RunOutcome:
    stdout, stderr = out.text(), err.text()
    output_tail = tail(redact("\n".join(part for part in (stdout.rstrip(), stderr.rstrip()) if part)))
    if code < 0:
        try:
            signame = signal.Signals(-code).name
        except ValueError:
            signame = f"signal {-code}"
        return RunOutcome.failure(f"`{name}` was killed by {signame}", retryable=True, output_tail=output_tail)
    if code != 0:
        last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "")
        message = f"`{name}` exited with code {code}" + (f": {excerpt(redact(last))}" if last else "")
        return RunOutcome.failure(message, retryable=is_retryable_exit(code), output_tail=output_tail)
    if out.overflowed:
        return RunOutcome.failure(
            f"stdout is not a JSON object: it is larger than {OUTPUT_CAP // (1024 * 1024)} MiB",
            retryable=False, output_tail=output_tail,
        )
    if not stdout.strip():
        return RunOutcome.success({}, output_tail=output_tail)
    try:
        outputs = json.loads(stdout)
    except ValueError:
        outputs = None
    if not isinstance(outputs, dict):
        return RunOutcome.failure(
            f"stdout is not a JSON object (it starts `{excerpt(redact(stdout), 80)}`); "
            "print the outputs as one JSON object and logs to stderr",
            retryable=False, output_tail=output_tail,
        )
    return RunOutcome.success(outputs, output_tail=output_tail)


def _timed_out(name: str, timeout: float, out: _Capture, err: _Capture, redact: Redactor) -> RunOutcome:
    for capture in (out, err):
        capture.join(1.0)
    output = "\n".join(part for part in (out.text().rstrip(), err.text().rstrip()) if part)
    return RunOutcome.failure(
        f"timed out after {describe_seconds(timeout)}: `{name}` and its processes were stopped",
        retryable=True, output_tail=tail(redact(output)),
    )


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM to the whole group, SIGKILL after `grace` seconds if any of it is left."""
    pgid = proc.pid  # the command leads its own session and process group
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        proc.wait()
        return
    end = time.monotonic() + grace
    while time.monotonic() < end:
        proc.poll()  # reap the leader as soon as it exits
        if not _group_alive(pgid):
            break
        time.sleep(0.02)
    _kill_leftovers(pgid)
    proc.wait()


def _kill_leftovers(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class _Capture:
    """Drains one pipe in a thread, keeping at most `OUTPUT_CAP` bytes (head or tail)."""

    def __init__(self, pipe: Any, *, keep: str):
        self._pipe = pipe
        self._fd = pipe.fileno()
        self._keep = keep
        self._data = bytearray()
        self.overflowed = False
        self._thread = threading.Thread(target=self._drain, name="conductor-command-output", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._fd, _READ_SIZE)
            except OSError:
                return
            if not chunk:
                return
            if self._keep == "tail":
                self._data += chunk
                if len(self._data) > OUTPUT_CAP:
                    self.overflowed = True
                    del self._data[: len(self._data) - OUTPUT_CAP]
            elif len(self._data) < OUTPUT_CAP:
                room = OUTPUT_CAP - len(self._data)
                self._data += chunk[:room]
                self.overflowed = self.overflowed or len(chunk) > room
            else:
                self.overflowed = True  # keep draining so the command never blocks on a full pipe

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def close(self) -> None:
        if not self._thread.is_alive():
            self._pipe.close()
        # A pipe still held open by an escaped process is left to its daemon reader thread.

    def text(self) -> str:
        return bytes(self._data).decode("utf-8", errors="replace")
