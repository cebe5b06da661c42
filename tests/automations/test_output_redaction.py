"""A secret an automation echoes back is masked before the outcome leaves the runner: in the
outputs (which the run's state stores and every later template sees), the error and the
output tail; and through the real app it never reaches the database, the outbox or Slack."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.automations.runner import ERROR_CHARS, run_automation
from bot.automations.secrets import MASK
from bot.settings import get_settings
from tests.automations.conftest import (
    LOCAL_EGRESS,
    Server,
    Workflows,
    automation,
    base_environ,
    deliver_outbox,
    request_for,
    run_automations,
)
from tests.hostile.conftest import Live, serve

SECRET = "echo-secret-5b8e1f0a9c"
SLACK_LIKE = "xoxb-1111-2222-abcdefABCDEF"


def environ() -> dict[str, str]:
    return base_environ(ECHO_TOKEN=SECRET)


def run(step_raw: dict, *, context: dict | None = None, workflows_dir: str = "."):
    step = automation(step_raw)
    return run_automation(step, request_for(step, context), workflows_dir=workflows_dir, environ=environ(),
                          egress=LOCAL_EGRESS)


def shown(outcome) -> str:
    return json.dumps([outcome.outputs, outcome.error, outcome.output_tail])


def test_an_endpoint_echoing_its_authorization_header_hands_on_a_mask(http_server: Server):
    outcome = run({"http": {"url": http_server.url("/echo-json"),
                            "headers": {"Authorization": "Bearer ${{ secrets.ECHO_TOKEN }}"},
                            "json": {"token": "${{ secrets.ECHO_TOKEN }}"}}})
    assert outcome.ok, outcome.error
    assert http_server.last.headers["authorization"] == f"Bearer {SECRET}"  # the endpoint did get it
    assert outcome.outputs["authorization"] == f"Bearer {MASK}" and outcome.outputs["token"] == MASK
    assert SECRET not in shown(outcome)


def test_a_python_function_returning_a_secret_hands_on_a_mask(workflows: Workflows):
    outcome = run({"uses": workflows.uses("funcs:echo"), "with": {"token": "${{ secrets.ECHO_TOKEN }}",
                                                                 "nested": [{"deep": "x ${{ secrets.ECHO_TOKEN }} y"}]}},
                  workflows_dir=str(workflows.folder))
    assert outcome.ok, outcome.error
    assert outcome.outputs["params"] == {"token": MASK, "nested": [{"deep": f"x {MASK} y"}]}
    assert SECRET not in shown(outcome)


def test_a_command_printing_a_secret_and_a_slack_token_hands_on_masks(workflows: Workflows):
    program = ("import json, os; print(json.dumps({'env': os.environ['TOKEN'], "
               f"'bot': '{SLACK_LIKE}', os.environ['TOKEN']: 1, 'n': 1}}))")
    outcome = run({"run": ["python", "-c", program], "env": {"TOKEN": "${{ secrets.ECHO_TOKEN }}"}},
                  workflows_dir=str(workflows.folder))
    assert outcome.ok, outcome.error
    assert outcome.outputs == {"env": MASK, "bot": f"xoxb-{MASK}", MASK: 1, "n": 1}


def test_a_numeric_secret_echoed_as_a_number_is_masked(workflows: Workflows):
    step = automation({"run": ["python", "-c", "import os; print('{\"pin\": %s, \"n\": 12}' % os.environ['PIN'])"],
                       "env": {"PIN": "${{ secrets.PIN }}"}})
    outcome = run_automation(step, request_for(step), workflows_dir=str(workflows.folder),
                             environ=base_environ(PIN="90210417"))
    assert outcome.ok, outcome.error
    assert outcome.outputs == {"pin": MASK, "n": 12}


def test_an_error_is_masked_and_cut_to_a_readable_length(workflows: Workflows):
    outcome = run({"uses": workflows.uses("funcs:loud"), "with": {"token": "${{ secrets.ECHO_TOKEN }}"}},
                  workflows_dir=str(workflows.folder))
    assert not outcome.ok
    assert len(outcome.error) == ERROR_CHARS and outcome.error.endswith("…")
    assert SECRET not in shown(outcome)


@pytest.mark.parametrize("visible", [4, 9, len(SECRET) - 1])
def test_an_excerpt_never_cuts_a_secret_in_half(http_server: Server, visible: int):
    # The body's 300th character falls inside the secret: masking after the cut would show its start.
    opening = '{"a":"'
    pad = "p" * (299 - visible - len(opening))
    outcome = run({"http": {"url": http_server.url("/reflect/500"),
                            "json": {"a": pad + "${{ secrets.ECHO_TOKEN }}", "b": "q" * 3000}}})
    assert not outcome.ok and "answered 500" in outcome.error
    assert SECRET[:visible] not in outcome.error, outcome.error[-40:]
    # ...and the tail's first character falls inside it the other way round.
    tail_side = run({"http": {"url": http_server.url("/reflect/500"),
                              "json": {"a": "${{ secrets.ECHO_TOKEN }}" + "q" * (1999 - visible - len('","z":"') - 2),
                                       "z": ""}}})
    assert SECRET[-visible:] not in tail_side.output_tail


# -- through the real app ------------------------------------------------------------------------

ECHO_WORKFLOW = """\
id: echoing
name: Echoing
channel: "#work"
escalation_channel: "#ops"
roles:
  team: [U01ANN]
  leads: [U04LEAD]
permissions:
  start: [team]
  take_over: [leads]
steps:
  - id: fetch
    http:
      url: "{base}/echo-json"
      headers: {{Authorization: "Bearer ${{{{ secrets.ECHO_TOKEN }}}}"}}
      json: {{token: "${{{{ secrets.ECHO_TOKEN }}}}"}}
    outputs: {{authorization: string, token: string, host: string}}
    retry: {{attempts: 1}}
  - id: tell
    uses: conductor/post
    with:
      text: "The endpoint said {{{{ steps.fetch.outputs.authorization }}}} / {{{{ steps.fetch.outputs.token }}}}"
  - id: careless
    http:
      url: "{base}/echo-auth/403"
      headers: {{Authorization: "Bearer ${{{{ secrets.ECHO_TOKEN }}}}"}}
    retry: {{attempts: 1}}
  - id: wrap_up
    ask: starter
    outputs: {{done: boolean}}
"""


@pytest.fixture
def echo_app(migrated_db_url: str, tmp_path: Path, http_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """The real app on one workflow whose endpoints echo the secret they are sent. The test
    server is on loopback: the operator's setting allows it here (`egress.allow` reaches the
    runner only as the worker passes it on)."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "echoing.yaml").write_text(textwrap.dedent(ECHO_WORKFLOW.format(base=http_server.base)))
    monkeypatch.setenv("ECHO_TOKEN", SECRET)
    monkeypatch.setenv("HTTP_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    try:
        with serve(migrated_db_url, folder) as app:
            yield app
    finally:
        monkeypatch.delenv("HTTP_ALLOW_PRIVATE")
        get_settings.cache_clear()


def every_row(live: Live) -> str:
    """Every table the app writes, as text."""
    dump = []
    with live.runtime.engine.connect() as conn:
        for table in ("runs", "step_runs", "outbox", "audit_events", "timers", "inbound_events"):
            dump.extend(str(tuple(row)) for row in conn.execute(text(f"select * from {table}")))
    return "\n".join(dump)


def test_a_secret_echoed_by_an_endpoint_never_reaches_the_database_the_outbox_or_slack(echo_app: Live, http_server: Server):
    live = echo_app
    run_id = live.start("echoing")
    assert run_automations(live) == 2
    state = live.state(run_id)
    assert http_server.received[0].headers["authorization"] == f"Bearer {SECRET}"  # sent for real
    assert state.steps["fetch"].outputs == {"authorization": f"Bearer {MASK}", "token": MASK,
                                            "host": http_server.base.split("//", 1)[1]}
    assert state.steps["tell"].status.value == "completed"
    careless = state.steps["careless"]
    assert careless.status.value == "escalated" and careless.error.endswith(f"denied for Bearer {MASK}")

    raw_state = live.scalar("select state from runs where id = :r", r=run_id)
    assert SECRET not in (raw_state if isinstance(raw_state, str) else json.dumps(raw_state))
    assert f"Bearer {MASK}" in every_row(live)  # the rows are there, masked
    assert SECRET not in every_row(live)

    deliver_outbox(live)
    posted = json.dumps([call.params for call in live.fake.calls])
    assert f"The endpoint said Bearer {MASK} / {MASK}" in posted and "denied for Bearer" in posted
    assert SECRET not in posted
    assert all(SECRET not in record.getMessage() for record in live.logs.records)
