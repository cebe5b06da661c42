"""Only the workflow's author can refer to a secret. `${{ secrets.NAME }}` written in the YAML
reaches every runner as the secret's value; the same text arriving as data (a form answer, a
thread reply, a command argument, an earlier step's outputs) reaches it as the text it is, and
no NUL in data can forge the mark that tells the two apart."""

from __future__ import annotations

import json

import pytest

from bot.automations.http_runner import signature
from bot.automations.runner import run_automation
from bot.automations.secrets import MASK, SecretMissing, SecretResolver
from bot.definitions import templates
from bot.engine.context import render_value
from tests.automations.conftest import (
    LOCAL_EGRESS,
    Server,
    Workflows,
    automation,
    base_environ,
    request_for,
)

SECRET = "canary-7c1d9e2f"
TYPED = "${{ secrets.CANARY }}"
# Every way data could try to pass for an authored reference: typed as is, without spaces,
# with the mark's NULs, as the placeholder rendering uses, and split over two values.
FORGERIES = {
    "typed": TYPED,
    "spaced": "${{secrets.CANARY}}",
    "marked": "\x00${{ secrets.CANARY }}\x00",
    "placeholder": "\x00secret:CANARY\x00",
    "half_open": "\x00",
    "half_close": "${{ secrets.CANARY }}\x00",
}
# What each forgery is once its NULs are gone: text, never the value.
AS_TEXT = {name: text.replace("\x00", "") for name, text in FORGERIES.items()}
ECHO_ARGV = "import json, sys; print(json.dumps({'argv': sys.argv[1:]}))"


def environ() -> dict[str, str]:
    return base_environ(CANARY=SECRET)


def data_context() -> dict:
    return {"inputs": dict(FORGERIES), "steps": {"note": {"outputs": {"note": TYPED, "list": [TYPED, "\x00"]}}}}


def test_authored_references_are_marked_and_typed_ones_stay_text():
    # `forged` joins two values into a reference, `dollar` puts the author's `$` before data.
    rendered = render_value(
        {"plain": "${{ secrets.CANARY }}", "mixed": "Bearer ${{secrets.CANARY}} for {{ inputs.typed }}",
         "whole": "{{ steps.note.outputs.list }}", "forged": "{{ inputs.half_open }}{{ inputs.half_close }}",
         "dollar": "${{ inputs.spaced[1:] }}", "nested": [{"k": "${{ secrets.CANARY }}"}], "n": 3},
        data_context(),
    )
    marked = templates.authored_secret("CANARY")
    assert rendered == {
        "plain": marked, "mixed": f"Bearer {marked} for {TYPED}", "whole": [TYPED, ""],
        "forged": "${{ secrets.CANARY }}", "dollar": "${{secrets.CANARY}}", "nested": [{"k": marked}], "n": 3,
    }
    resolver = SecretResolver(environ())
    out = resolver.resolve(rendered)
    assert out["plain"] == SECRET and out["mixed"] == f"Bearer {SECRET} for {TYPED}"
    assert out["whole"] == [TYPED, ""] and out["forged"] == TYPED and out["dollar"] == "${{secrets.CANARY}}"
    assert out["nested"] == [{"k": SECRET}] and resolver.used_names == ["CANARY"]
    assert resolver.redactor.redact(json.dumps(out)).count(SECRET) == 0


def test_people_see_references_never_the_mark_or_a_value():
    rendered = render_value({"with": {"token": "Bearer ${{ secrets.CANARY }}", "title": "{{ inputs.typed }}"}},
                            data_context())
    shown = templates.shown(rendered)
    assert shown == {"with": {"token": "Bearer ${{ secrets.CANARY }}", "title": TYPED}}
    assert "\x00" not in json.dumps(shown) and SECRET not in json.dumps(shown)


def test_data_keys_and_values_lose_their_nuls_before_any_template_sees_them():
    cleaned = templates.without_nul({"a\x00b": ["x\x00", ("\x00y",)], "n": 1, 2: None})
    assert cleaned == {"ab": ["x", ["y"]], "n": 1, 2: None}
    assert render_value("{{ inputs }}", {"inputs": {"k\x00": "\x00secret:CANARY\x00"}}) == {"k": "secret:CANARY"}


def test_a_marked_reference_that_is_not_set_is_named_and_never_retried():
    with pytest.raises(SecretMissing) as caught:
        SecretResolver({}).resolve({"a": TYPED, "b": templates.mark_authored("x ${{ secrets.NOT_SET }}")})
    assert caught.value.name == "NOT_SET" and caught.value.retryable is False


def test_python_step_gets_the_authored_value_and_the_typed_text(workflows: Workflows):
    step = automation({
        "uses": workflows.uses("funcs:echo"),
        "with": {"token": "${{ secrets.CANARY }}", "header": "Bearer ${{ secrets.CANARY }}",
                 **{name: f"{{{{ inputs.{name} }}}}" for name in FORGERIES},
                 "reply": "{{ steps.note.outputs.note }}", "replies": "{{ steps.note.outputs.list }}"},
    })
    outcome = run_automation(step, request_for(step, data_context()), workflows_dir=str(workflows.folder),
                             environ=environ())
    assert outcome.ok, outcome.error
    # The function got the value (it echoed it, and the echo is masked before it is stored);
    # every forgery reached it as the text it is.
    assert outcome.outputs["params"] == {
        "token": MASK, "header": f"Bearer {MASK}", **AS_TEXT, "reply": TYPED, "replies": [TYPED, ""],
    }


def test_command_step_gets_the_authored_value_in_argv_and_env_and_the_typed_text(workflows: Workflows):
    step = automation({
        "run": ["python", "-c", ECHO_ARGV, "--token=${{ secrets.CANARY }}", *(f"{{{{ inputs.{n} }}}}" for n in FORGERIES),
                "{{ steps.note.outputs.note }}"],
        "env": {"TOKEN": "${{ secrets.CANARY }}", "TYPED": "{{ inputs.typed }}"},
    })
    outcome = run_automation(step, request_for(step, data_context()), workflows_dir=str(workflows.folder),
                             environ=environ())
    assert outcome.ok, outcome.error
    assert outcome.outputs == {"argv": [f"--token={MASK}", *AS_TEXT.values(), TYPED]}


def test_http_step_gets_the_authored_value_in_url_headers_body_and_signature(http_server: Server):
    step = automation({"http": {
        "method": "POST",
        "url": http_server.url("/ok?token=${{ secrets.CANARY }}&q={{ inputs.typed | urlencode }}"),
        "headers": {"Authorization": "Bearer ${{ secrets.CANARY }}", "X-Typed": "{{ inputs.typed }}",
                    "X-Forged": "{{ inputs.marked }}"},
        "json": {"key": "${{ secrets.CANARY }}", "typed": "{{ inputs.typed }}", "reply": "{{ steps.note.outputs.list }}"},
        "sign": {"secret": "${{ secrets.CANARY }}", "header": "X-Signature"},
    }})
    outcome = run_automation(step, request_for(step, data_context()), workflows_dir=".", environ=environ(),
                             egress=LOCAL_EGRESS)
    assert outcome.ok, outcome.error
    assert SECRET not in json.dumps(outcome.outputs)  # the server echoed the body back
    got = http_server.last
    assert got.path == f"/ok?token={SECRET}&q=%24%7B%7B%20secrets.CANARY%20%7D%7D"
    assert got.headers["authorization"] == f"Bearer {SECRET}"
    assert got.headers["x-typed"] == got.headers["x-forged"] == TYPED
    assert json.loads(got.body) == {"key": SECRET, "typed": TYPED, "reply": [TYPED, ""]}
    timestamp = got.headers["x-signature"].split(",")[0][2:]
    assert got.headers["x-signature"] == signature(SECRET, got.body, int(timestamp))


def test_a_typed_reference_to_a_secret_that_is_not_set_is_just_text(workflows: Workflows):
    step = automation({"uses": workflows.uses("funcs:echo"), "with": {"note": "{{ inputs.note }}"}})
    typed = "${{ secrets.NOT_SET_ANYWHERE }}"
    outcome = run_automation(step, request_for(step, {"inputs": {"note": typed}}),
                             workflows_dir=str(workflows.folder), environ=base_environ())
    assert outcome.ok, outcome.error
    assert outcome.outputs["params"] == {"note": typed}


def test_an_automation_cannot_hand_a_nul_to_the_steps_after_it(workflows: Workflows):
    # The program builds the mark itself, as an API's answer could hold it.
    forge = ("import json; mark = '\\x00$' + '{' * 2 + ' secrets.CANARY ' + '}' * 2 + '\\x00'; "
             "print(json.dumps({'text': mark, 'k\\x00': 1}))")
    step = automation({"run": ["python", "-c", forge]})
    outcome = run_automation(step, request_for(step), workflows_dir=str(workflows.folder), environ=environ())
    assert outcome.ok, outcome.error
    assert outcome.outputs == {"text": TYPED, "k": 1}
    noisy = "import sys; print('bad\\x00byte'); sys.exit(3)"
    step = automation({"run": ["python", "-c", noisy]})
    failed = run_automation(step, request_for(step), workflows_dir=str(workflows.folder), environ=environ())
    assert not failed.ok and "badbyte" in failed.output_tail
    assert "\x00" not in failed.output_tail + failed.error
