"""`run: [argv...]` through `run_automation`: real processes, no shell."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.automations import command_runner
from bot.automations.runner import run_automation
from bot.automations.secrets import MASK
from tests.automations.conftest import RUN_ID, Workflows, automation, base_environ, request_for

SECRET = "pa55-w0rd-xyz"
PRINT_ARGV = "import json, sys; print(json.dumps({'argv': sys.argv[1:]}))"
PRINT_ENV = "import json, os; print(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd()}))"


def run(workflows: Workflows, argv, *, env=None, with_=None, timeout=None, context=None, environ=None):
    step = automation({"run": argv, "env": env or {}, "with": with_ or {}}, timeout=timeout)
    return run_automation(
        step, request_for(step, context), workflows_dir=str(workflows.folder),
        environ=environ if environ is not None else base_environ(API_TOKEN=SECRET),
    )


def python(code: str) -> list[str]:
    return ["python", "-c", textwrap.dedent(code)]


def pid_gone(pid: int, within: float = 3.0) -> bool:
    """True once no process `pid` runs (a zombie waiting for a reaper counts as gone)."""
    end = time.monotonic() + within
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (FileNotFoundError, IndexError):
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.02)


def test_shell_metacharacters_in_arguments_reach_the_program_verbatim(workflows):
    hostile = ["; rm -rf / && echo pwned", "$(touch pwned)", "`id`", "a b", "'q'", '"dq"', "*", "|", "> pwned"]
    outcome = run(workflows, ["python", "-c", PRINT_ARGV, "{{ inputs.title }}", *hostile[1:], "{{ inputs.n }}", "{{ inputs.x }}"],
                  context={"inputs": {"title": hostile[0], "n": 42, "x": 1.5}})  # numbers stay numbers when rendered
    assert outcome.ok, outcome.error
    assert outcome.outputs == {"argv": [*hostile, "42", "1.5"]}
    assert not (workflows.folder / "pwned").exists()


def test_the_command_gets_a_small_environment_in_the_workflows_folder(workflows):
    environ = base_environ(API_TOKEN=SECRET, LEAKY_VARIABLE="nope", PYTHONPATH="/opt/extra")
    outcome = run(
        workflows, python(PRINT_ENV), env={"API_TOKEN": "${{ secrets.API_TOKEN }}", "MODE": "{{ inputs.mode }}"},
        with_={"title": "{{ inputs.title }}", "seats": "{{ inputs.seats }}"},
        context={"inputs": {"title": "Hi", "seats": 12, "mode": "fast"}}, environ=environ,
    )
    assert outcome.ok, outcome.error
    env = outcome.outputs["env"]
    assert outcome.outputs["cwd"] == os.path.realpath(workflows.folder)
    assert env["API_TOKEN"] == MASK and env["MODE"] == "fast"  # the value, echoed back, is masked
    assert env["CONDUCTOR_RUN_ID"] == RUN_ID
    assert env["CONDUCTOR_STEP_ID"] == "work"
    assert env["CONDUCTOR_ATTEMPT"] == "1"
    assert env["CONDUCTOR_IDEMPOTENCY_KEY"] == f"{RUN_ID}:work:1"
    assert json.loads(env["CONDUCTOR_WITH"]) == {"title": "Hi", "seats": 12}
    assert env["PYTHONPATH"].split(os.pathsep) == [str(workflows.folder), "/opt/extra"]
    assert "LEAKY_VARIABLE" not in env
    assert set(env) - {"PATH", "HOME", "LANG", "TZ", "PYTHONPATH", "API_TOKEN", "MODE", "LC_CTYPE"} == {
        "CONDUCTOR_RUN_ID", "CONDUCTOR_STEP_ID", "CONDUCTOR_ATTEMPT", "CONDUCTOR_IDEMPOTENCY_KEY", "CONDUCTOR_WITH",
    }
    assert SECRET not in outcome.output_tail and "***" in outcome.output_tail


def test_python_means_the_bots_own_interpreter(workflows):
    outcome = run(workflows, python("import json, sys; print(json.dumps({'exe': sys.executable}))"))
    assert outcome.outputs == {"exe": sys.executable}


def test_empty_stdout_means_no_outputs_and_stderr_is_the_log(workflows):
    outcome = run(workflows, python("import sys; print('step one done', file=sys.stderr)"))
    assert outcome.ok and outcome.outputs == {}
    assert outcome.output_tail == "step one done"


@pytest.mark.parametrize("stdout", ["done!", "[1, 2]", '"text"'])
def test_stdout_that_is_not_a_json_object_is_not_retried(workflows, stdout):
    outcome = run(workflows, python(f"print({stdout!r})"))
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert outcome.error.startswith("stdout is not a JSON object")


@pytest.mark.parametrize(
    ("code", "retryable"),
    [(1, True), (3, True), (2, False), (64, False), (65, False), (75, True), (78, False), (79, True)],
)
def test_exit_codes_decide_whether_another_try_may_help(workflows, code, retryable):
    outcome = run(workflows, python(f"import sys; print('went wrong', file=sys.stderr); sys.exit({code})"))
    assert (outcome.ok, outcome.retryable) == (False, retryable)
    assert outcome.error == f"`python` exited with code {code}: went wrong"


def test_death_by_a_signal_is_retryable(workflows):
    outcome = run(workflows, python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"))
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert "killed by SIGKILL" in outcome.error


def test_secrets_are_redacted_from_errors_and_output(workflows):
    outcome = run(
        workflows,
        python("import os, sys; print('token', os.environ['API_TOKEN']); print('bad', sys.argv[1], file=sys.stderr); sys.exit(1)")
        + ["${{ secrets.API_TOKEN }}"],
        env={"API_TOKEN": "${{ secrets.API_TOKEN }}"},
    )
    assert not outcome.ok
    assert outcome.error == "`python` exited with code 1: bad ***"
    assert outcome.output_tail == "token ***\nbad ***"


def test_a_program_that_cannot_be_started_is_not_retried(workflows):
    outcome = run(workflows, ["conductor-no-such-program", "--help"])
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "cannot run `conductor-no-such-program`" in outcome.error


def test_captured_output_is_capped(workflows):
    outcome = run(workflows, python("import sys; sys.stdout.write('{' + ' ' * (3 << 20) + '}')"))
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "larger than 1 MiB" in outcome.error
    noisy = run(workflows, python("""
        import sys
        for n in range(60000):
            print('log line', n, file=sys.stderr)
    """))
    assert noisy.ok and noisy.output_tail.endswith("log line 59999")


GROUP_SCRIPT = """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", CHILD])
    open(sys.argv[1], "w").write(str(child.pid))
    print("started", child.pid, file=sys.stderr, flush=True)
    time.sleep(60)
"""
STUBBORN_CHILD = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"


def _wait_for_pid(path: Path) -> int:
    for _ in range(200):
        if path.exists() and path.read_text():
            return int(path.read_text())
        time.sleep(0.01)
    raise AssertionError("the command did not start its child")


@pytest.mark.parametrize("child", ["import time; time.sleep(60)", STUBBORN_CHILD], ids=["child", "stubborn-child"])
def test_on_timeout_the_whole_process_group_is_killed(workflows, tmp_path, monkeypatch, child):
    monkeypatch.setattr(command_runner, "KILL_GRACE_SECONDS", 0.3)
    pid_file = tmp_path / "child.pid"
    script = f"CHILD = {child!r}\n" + textwrap.dedent(GROUP_SCRIPT)
    started = time.monotonic()
    outcome = run(workflows, ["python", "-c", script, str(pid_file)], timeout=1.0)
    elapsed = time.monotonic() - started
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.error.startswith("timed out after 1s")
    assert "started" in outcome.output_tail
    assert elapsed < 1.0 + 0.3 + 1.0
    assert pid_gone(_wait_for_pid(pid_file))


def test_processes_left_running_after_a_normal_exit_are_stopped(workflows, tmp_path, monkeypatch):
    monkeypatch.setattr(command_runner, "KILL_GRACE_SECONDS", 0.3)
    pid_file = tmp_path / "child.pid"
    script = """
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # keeps stdout open
        open(sys.argv[1], "w").write(str(child.pid))
        print('{"done": true}')
    """
    started = time.monotonic()
    outcome = run(workflows, python(script) + [str(pid_file)], timeout=10)
    assert outcome.ok and outcome.outputs == {"done": True}
    assert time.monotonic() - started < 2.0
    assert pid_gone(_wait_for_pid(pid_file))
