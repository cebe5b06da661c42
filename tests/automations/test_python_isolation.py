"""Python automations run each try in a child process: a timeout stops the work itself, the
workflows folder cannot shadow an installed library, and an edited module is used by the next
try. The outcome rules are those of `python_runner`, through the child."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import holidays
import pytest

from bot.automations.runner import run_automation
from bot.automations.secrets import MASK
from tests import polling
from tests.automations.conftest import automation, base_environ, request_for

SECRET = "sk-iso-5eaf00d1"
EXAMPLES = Path(__file__).resolve().parents[2] / "workflows"

SIDE_EFFECT = '''
import time
from pathlib import Path


def started_then_late_write(ctx):
    Path(ctx.params["started"]).write_text("started")
    return late_write(ctx)


def late_write(ctx):
    time.sleep(float(ctx.params["seconds"]))
    with open(ctx.params["path"], "w") as handle:  # the effect, after the timeout
        handle.write("written")
    return {}
'''
FAKE_HOLIDAYS = 'FAKE = True\n'
USES_HOLIDAYS = '''
import holidays


def check(ctx):
    return {"has_country_holidays": hasattr(holidays, "country_holidays"),
            "fake": hasattr(holidays, "FAKE"), "version": holidays.__version__}
'''
RULES = '''
from bot.automations.context import AutomationError


def success(ctx):
    ctx.logger.warning("working with %s", ctx.params.get("token"))
    return {"echo": ctx.params, "key": ctx.idempotency_key, "when": __import__("datetime").date(2026, 12, 3)}


def refused(ctx):
    raise AutomationError("bad data for " + ctx.params["token"], retryable=False)


def busy(ctx):
    raise AutomationError("busy")


def crash(ctx):
    ctx.logger.warning("about to fail")
    raise ValueError("no luck with " + ctx.params["token"])


def exits(ctx):
    import os
    os._exit(3)


def prints(ctx):
    print("hello from print")
    return {"printed": True}
'''


BOT_PROCESS = """
import json, logging, sys
from bot.automations.context import AutomationContext
from bot.automations.python_runner import run_python
folder, uses, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
context = AutomationContext("run", "work", 1, "run:work:1", params=params, logger=logging.getLogger("t"))
run_python(uses, context, timeout=60, workflows_dir=folder)
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("isolated")
    package = f"iso_{uuid.uuid4().hex[:10]}"
    (root / package).mkdir()
    (root / package / "__init__.py").write_text("")
    (root / package / "effects.py").write_text(SIDE_EFFECT)
    (root / package / "uses_holidays.py").write_text(USES_HOLIDAYS)
    (root / package / "rules.py").write_text(RULES)
    (root / "holidays.py").write_text(FAKE_HOLIDAYS)
    return root, package


def run(folder: Path, uses: str, *, with_=None, timeout: float | None = None, attempt: int = 1):
    step = automation({"uses": uses, "with": with_ or {}}, timeout=timeout)
    return run_automation(step, request_for(step, {}, attempt=attempt), workflows_dir=str(folder),
                          environ=base_environ(ISO_TOKEN=SECRET))


def test_a_timed_out_automation_has_no_effect_after_its_timeout(folder, tmp_path):
    root, package = folder
    effect = tmp_path / "effect.txt"
    started = time.monotonic()
    outcome = run(root, f"{package}.effects:late_write", with_={"seconds": 0.8, "path": str(effect)}, timeout=0.3)
    assert time.monotonic() - started < 0.8
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.error.startswith("timed out after 0.3s")
    time.sleep(1.2)  # well past the moment the abandoned work would have written
    assert not effect.exists()


def test_a_try_whose_bot_dies_has_no_effect_either(folder, tmp_path):
    """The bot killed mid-try (no chance to stop anything): the child stops itself."""
    root, package = folder
    started, effect = tmp_path / "started.txt", tmp_path / "effect.txt"
    bot = subprocess.Popen([sys.executable, "-c", BOT_PROCESS, str(root), f"{package}.effects:started_then_late_write",
                            json.dumps({"seconds": 1.0, "path": str(effect), "started": str(started)})])
    try:
        polling.wait_for(started.exists, 20)
    finally:
        bot.kill()
        bot.wait()
    time.sleep(2.0)  # past the moment the try would have written, had it gone on
    assert not effect.exists()


def test_the_workflows_folder_does_not_shadow_an_installed_library(folder):
    root, package = folder
    path_before = list(sys.path)
    outcome = run(root, f"{package}.uses_holidays:check")
    assert outcome.ok, outcome.error
    assert outcome.outputs == {"has_country_holidays": True, "fake": False, "version": holidays.__version__}
    # The bot's own process: its path and its `holidays` are untouched.
    assert sys.path == path_before
    assert all(os.path.realpath(entry or ".") != str(root.resolve()) for entry in sys.path)
    assert sys.modules["holidays"] is holidays and not hasattr(holidays, "FAKE")
    assert hasattr(holidays, "country_holidays")


def test_an_edited_module_is_used_by_the_next_try(tmp_path):
    package = f"edited_{uuid.uuid4().hex[:10]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    module = tmp_path / package / "version.py"
    module.write_text("def which(ctx):\n    return {'version': 1}\n")
    first = run(tmp_path, f"{package}.version:which")
    assert first.ok and first.outputs == {"version": 1}
    module.write_text("def which(ctx):\n    return {'version': 2, 'edited': True}\n")
    later = time.time() + 5  # a different mtime, whatever the file system's resolution
    os.utime(module, (later, later))
    second = run(tmp_path, f"{package}.version:which", attempt=2)
    assert second.ok and second.outputs == {"version": 2, "edited": True}


def test_the_example_automations_import_as_automations_star():
    outcome = run(EXAMPLES, "automations.blog:add_seo_metadata",
                  with_={"title": "Hello, Wörld!", "keywords": ["greeting"], "angle": "Why hello."})
    assert outcome.ok, outcome.error
    assert outcome.outputs["slug"] == "hello-world"


def test_a_mapping_is_a_success_with_the_loggers_lines_and_secrets_masked(folder):
    root, package = folder
    outcome = run(root, f"{package}.rules:success", with_={"token": "${{ secrets.ISO_TOKEN }}"})
    assert outcome.ok, outcome.error
    assert outcome.outputs == {"echo": {"token": MASK}, "key": "r7kq2m9x:work:1", "when": "2026-12-03"}
    assert outcome.output_tail == f"WARNING working with {MASK}"


def test_automation_error_keeps_its_message_and_flag(folder):
    root, package = folder
    refused = run(root, f"{package}.rules:refused", with_={"token": "${{ secrets.ISO_TOKEN }}"})
    assert (refused.ok, refused.retryable, refused.error) == (False, False, f"bad data for {MASK}")
    busy = run(root, f"{package}.rules:busy")
    assert (busy.ok, busy.retryable, busy.error) == (False, True, "busy")


def test_another_exception_is_retried_with_its_traceback_in_the_tail(folder):
    root, package = folder
    outcome = run(root, f"{package}.rules:crash", with_={"token": "${{ secrets.ISO_TOKEN }}"})
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.error == f"ValueError: no luck with {MASK}"
    assert "Traceback" in outcome.output_tail and "rules.py" in outcome.output_tail
    assert "WARNING about to fail" in outcome.output_tail and SECRET not in outcome.output_tail


def test_import_errors_are_not_retried(folder):
    root, package = folder
    for uses, expected in ((f"{package}.nowhere:fn", "there is no module"),
                           (f"{package}.rules:no_such", "has no function `no_such`")):
        outcome = run(root, uses)
        assert (outcome.ok, outcome.retryable) == (False, False), uses
        assert expected in outcome.error


def test_a_child_that_dies_without_answering_is_a_retryable_failure(folder):
    root, package = folder
    outcome = run(root, f"{package}.rules:exits")
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert "exited with code 3 without an answer" in outcome.error


def test_what_the_function_prints_cannot_spoil_the_answer(folder):
    root, package = folder
    outcome = run(root, f"{package}.rules:prints")
    assert outcome.ok and outcome.outputs == {"printed": True}
    assert "hello from print" in outcome.output_tail


def test_tries_can_run_side_by_side(folder):
    root, package = folder
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda n: run(root, f"{package}.rules:busy", attempt=n), range(1, 9)))
    assert [o.error for o in outcomes] == ["busy"] * 8

