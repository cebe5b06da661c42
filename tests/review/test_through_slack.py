"""End to end through the real app over signed HTTP, the local Slack, the real clock and the
messenger: a sampled automation's outputs are posted in the run's thread for the reviewer;
a bystander is refused; the reviewer's form opens preset to the automation's values, and the
corrected values are what the next step sees."""

from __future__ import annotations

import json

from bot.scheduling.clock import Clock
from bot.settings import Settings
from bot.slack.blocks import actions as a
from bot.slack.blocks import forms
from bot.slack.client import make_client
from bot.slack.messenger import Messenger
from tests.fakeslack import FakeSlack
from tests.polling import wait_for
from tests.review.helpers import WORKFLOW
from tests.shadow.test_through_slack import drain, rows, step
from tests.slack.live import running_app, slack_settings
from tests.slack.signed import slash_command
from tests.slack.test_app_interactions import click, submit
from tests.slack.test_blocks import fake_state_from

AUTOMATION = '''    run: [python, -c, "import json; print(json.dumps({'team': 'backend', 'estimate': 2}))"]'''


def test_a_reviewer_corrects_an_automation_from_slack(migrated_db_url, tmp_path):
    from bot.slack.blocks import render_outbox

    folder = tmp_path / "wf"
    folder.mkdir()
    workflow = (WORKFLOW % {"sample": "100%"}).replace(
        '    uses: automations.triage:guess\n    with: {title: "{{ inputs.title }}"}', AUTOMATION)
    workflow = workflow.replace("inputs:\n  title: string\n", "")
    (folder / "reviewed.yaml").write_text(workflow)
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, folder, fake)
        with running_app(settings) as (url, runtime):
            messenger = Messenger(runtime.engine, make_client(Settings(slack_bot_token="xoxb-test",
                                                                       slack_api_url=fake.url)),
                                  runtime.versions, render=render_outbox)
            clock = Clock(runtime.service, runtime.versions, workflows_dir=str(folder))
            try:
                slash_command(url, "start reviewed", user="ULEAD", trigger="t0")
                run = wait_for(lambda: next((r for (r,) in rows(runtime, "select id from runs")), None), 5)

                def reviewing() -> bool:
                    clock.poll()
                    clock.dispatch()
                    return step(runtime, run, "triage") == "waiting_on_person"

                wait_for(reviewing, 20)
                drain(runtime, messenger)
                asked = [c.params for c in fake.calls_to("chat.postMessage") if "Review: triage" in json.dumps(c.params)]
                assert asked, "the review was not posted"
                blob = json.dumps(asked[0])
                assert "<@UOPS>" in blob and "team: backend" in blob and "estimate: 2" in blob
                assert asked[0].get("thread_ts"), "the review is posted in the run's thread"

                # A bystander's answer is refused, shown in the form, and audited.
                views = len(fake.calls_to("views.open"))
                click(url, a.SUBMIT, run, "triage", "ULEAD", n=1)
                wait_for(lambda: len(fake.calls_to("views.open")) > views, 5)
                shown = fake.calls_to("views.open")[-1].params["view"]
                shown = shown if isinstance(shown, dict) else json.loads(shown)
                meta = json.loads(shown["private_metadata"])
                status, body, _ = submit(url, shown["callback_id"], meta, fake_state_from(shown), "ULEAD", view_id="V1")
                text = body.decode() if isinstance(body, bytes) else body
                assert json.loads(text)["response_action"] == "errors" and "review is not yours" in text
                assert step(runtime, run, "triage") == "waiting_on_person"
                assert rows(runtime, "select count(*) from audit_events where type = 'refused' "
                                     f"and run_id = '{run}'")[0][0] == 1

                # The reviewer's form is preset to the automation's values; they correct the team.
                click(url, a.SUBMIT, run, "triage", "UOPS", n=2)
                wait_for(lambda: len(fake.calls_to("views.open")) > views + 1, 5)
                shown = fake.calls_to("views.open")[-1].params["view"]
                shown = shown if isinstance(shown, dict) else json.loads(shown)
                initial = {b["block_id"]: b["element"].get("initial_value") for b in shown["blocks"] if "element" in b}
                assert initial == {"team": "backend", "estimate": "2"}
                workflow_step = runtime.versions.current("reviewed").workflow.step("triage")
                filled = forms.step_form(run, "triage", "triage", workflow_step.outputs,
                                         initial={"team": "payments", "estimate": 2})
                status, body, _ = submit(url, shown["callback_id"], meta, fake_state_from(filled), "UOPS", view_id="V2")
                assert status == 200
                wait_for(lambda: step(runtime, run, "file") == "waiting_on_person", 5)
                drain(runtime, messenger)
            finally:
                clock.worker.pool.close()
            audited = rows(runtime, f"select type, actor from audit_events where run_id = '{run}' and type like 'review_%'")
            assert audited == [("review_requested", None), ("review_corrected", "UOPS")]
            posts = json.dumps([c.params for c in fake.calls_to("chat.postMessage")])
            assert "File it with payments" in posts and "File it with backend" not in posts
