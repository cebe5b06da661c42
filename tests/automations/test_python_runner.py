"""`uses: package.module:function` through `run_automation`."""

from __future__ import annotations

import sys
import time

from bot.automations.runner import run_automation
from bot.automations.secrets import MASK
from tests.automations.conftest import RUN_ID, Workflows, automation, base_environ, request_for

SECRET = "sk-live-4c0ffee5"


def run(workflows: Workflows, target: str, *, with_=None, timeout=None, **kwargs):
    step = automation({"uses": workflows.uses(target), "with": with_ or {}}, timeout=timeout)
    request = request_for(step, kwargs.pop("context", None), attempt=kwargs.pop("attempt", 1))
    kwargs.setdefault("environ", base_environ(API_TOKEN=SECRET))
    return run_automation(step, request, workflows_dir=str(workflows.folder), **kwargs)


def test_the_function_gets_the_context_and_its_mapping_becomes_the_outputs(workflows):
    outcome = run(
        workflows, "funcs:echo",
        with_={"title": "{{ inputs.title }}", "token": "${{ secrets.API_TOKEN }}", "n": "{{ inputs.n }}"},
        context={"inputs": {"title": "Hello", "n": 3}}, attempt=2,
        run_inputs={"title": "Hello", "n": 3}, earlier_outputs={"brief": {"angle": "why"}},
    )
    assert outcome.ok, outcome.error
    assert outcome.outputs == {
        "params": {"title": "Hello", "token": MASK, "n": 3},  # echoed back: masked before it is stored
        "run_id": RUN_ID,
        "step_id": "work",
        "attempt": 2,
        "idempotency_key": f"{RUN_ID}:work:2",
        "inputs": {"title": "Hello", "n": 3},
        "steps": {"brief": {"angle": "why"}},
        "logger": "conductor.automation.work",
    }
    assert outcome.output_tail == "WARNING working on work"


def test_the_function_cannot_change_the_callers_data(workflows):
    inputs, earlier = {"title": "x"}, {"brief": {"angle": "y"}}
    assert run(workflows, "funcs:mutate", run_inputs=inputs, earlier_outputs=earlier).ok
    assert inputs == {"title": "x"} and earlier == {"brief": {"angle": "y"}}


def test_a_result_that_is_not_a_mapping_is_not_retried(workflows):
    for target, shown in (("funcs:returns_list", "a list"), ("funcs:returns_none", "nothing (None)")):
        outcome = run(workflows, target)
        assert not outcome.ok and outcome.retryable is False
        assert f"returned {shown}, not a mapping of outputs" in outcome.error


def test_automation_error_keeps_its_retryable_flag_and_hides_secrets(workflows):
    fatal = run(workflows, "funcs:fatal", with_={"token": "${{ secrets.API_TOKEN }}"})
    assert (fatal.ok, fatal.retryable) == (False, False)
    assert fatal.error == "the data is wrong for ***"
    busy = run(workflows, "funcs:busy")
    assert (busy.ok, busy.retryable, busy.error) == (False, True, "the service is busy")


def test_any_other_exception_is_retryable_with_type_and_message_and_no_traceback(workflows):
    outcome = run(workflows, "funcs:crash", with_={"token": "${{ secrets.API_TOKEN }}"})
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.error == "KeyError: 'no record for token ***'"
    assert "Traceback" not in outcome.error
    assert "Traceback" in outcome.output_tail and "funcs.py" in outcome.output_tail
    assert "WARNING about to use ***" in outcome.output_tail
    assert SECRET not in outcome.output_tail


def test_an_overrunning_call_fails_on_time_and_its_work_is_stopped(workflows, tmp_path):
    # `sleepy` sets its module's FINISHED event after the sleep: in the child, it never gets there.
    started = time.monotonic()
    outcome = run(workflows, "funcs:sleepy", with_={"seconds": 0.6}, timeout=0.2)
    elapsed = time.monotonic() - started
    assert elapsed < 0.5
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.error.startswith("timed out after 0.2s")
    assert not outcome.ok and outcome.outputs == {}
    assert f"{workflows.package}.funcs" not in sys.modules  # the call ran in a child, now killed


def test_import_problems_are_not_retried_and_say_what_is_wrong(workflows):
    cases = {
        "nowhere:fn": "there is no module",
        "funcs:no_such_function": "has no function `no_such_function`",
        "funcs:not_a_function": "is not a function (it is a `int` value)",
        "broken:fn": "RuntimeError: cannot configure the client",
        "needs_missing:fn": "needs the module `conductor_no_such_dependency`",
    }
    for target, expected in cases.items():
        outcome = run(workflows, target)
        assert (outcome.ok, outcome.retryable) == (False, False), target
        assert expected in outcome.error, outcome.error
        assert "Traceback" not in outcome.error


def test_a_missing_secret_is_a_failure_naming_it(workflows):
    outcome = run(workflows, "funcs:echo", with_={"token": "${{ secrets.NOT_SET_ANYWHERE }}"})
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "`NOT_SET_ANYWHERE`" in outcome.error


def test_running_an_automation_leaves_the_bots_import_path_alone(workflows):
    before = list(sys.path)
    assert run(workflows, "funcs:echo").ok
    assert sys.path == before
    assert str(workflows.folder) not in sys.path
