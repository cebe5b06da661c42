"""`run_automation` with the example workflows' own steps and automations."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from bot.automations import runner as runner_module
from bot.automations.runner import run_automation, run_id_from_key
from bot.definitions.loader import load_paths
from bot.definitions.steps import AutomationStep
from bot.engine.effects import RunAutomation
from bot.engine.handoff import check_outputs
from tests.automations.conftest import LOCAL_EGRESS, RUN_ID, Server, base_environ, request_for

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
CMS_TOKEN = "cms-example-token-1234"
CMS_SIGNING_KEY = "cms-example-signing-key"


@pytest.fixture(scope="module")
def catalog():
    loaded = load_paths([str(WORKFLOWS)])
    assert not loaded.problems
    return loaded


def example(catalog, workflow_id: str, step_id: str) -> AutomationStep:
    step = catalog.workflows[workflow_id].workflow.step(step_id)
    assert isinstance(step, AutomationStep)
    return step


def run_example(step: AutomationStep, context: dict, **kwargs):
    kwargs.setdefault("environ", base_environ(CMS_TOKEN=CMS_TOKEN, CMS_SIGNING_KEY=CMS_SIGNING_KEY))
    outcome = run_automation(step, request_for(step, context), workflows_dir=str(WORKFLOWS), **kwargs)
    if outcome.ok:  # what the engine does next: check the outputs against the declared fields
        _clean, problems = check_outputs(step.outputs, outcome.outputs)
        assert not problems, problems
    return outcome


def test_blog_seo_metadata(catalog):
    step = example(catalog, "blog-article", "seo")
    context = {"inputs": {"title": "Ten Tips for Wörld-Class Onboarding!"},
               "steps": {"brief": {"outputs": {"angle": "Onboarding sets the tone. Do it well.", "keywords": ["onboarding", "saas"]}}}}
    outcome = run_example(step, context)
    assert outcome.ok, outcome.error
    assert outcome.outputs == {
        "slug": "ten-tips-for-world-class-onboarding",
        "meta_description": "Onboarding sets the tone.",
        "keywords": ["onboarding", "saas"],
    }


def test_blog_format_check_runs_as_a_command(catalog):
    step = example(catalog, "blog-article", "format_check")
    context = {"inputs": {"title": "Ten tips; rm -rf / && echo $(whoami)"}, "steps": {"draft": {"outputs": {"word_count": 1150}}}}
    outcome = run_example(step, context)
    assert outcome.ok, outcome.error
    assert outcome.outputs == {"reading_minutes": 5, "headline": "Ten tips; rm -rf / && echo $(whoami)"}

    unusable = run_example(step, {**context, "steps": {"draft": {"outputs": {"word_count": 0}}}})
    assert (unusable.ok, unusable.retryable) == (False, False)
    assert unusable.error == "`python` exited with code 2: word count must be positive"


def test_blog_publish_signs_its_request(catalog, http_server: Server):
    step = example(catalog, "blog-article", "publish")
    step = step.model_copy(update={"http": step.http.model_copy(update={"url": http_server.url("/ok")})})
    context = {"steps": {"seo": {"outputs": {"slug": "ten-tips", "meta_description": "Tips."}},
                         "format_check": {"outputs": {"headline": "Ten tips"}},
                         "draft": {"outputs": {"doc_url": "https://docs.example.com/d/1"}}}}
    outcome = run_automation(step, request_for(step, context), workflows_dir=str(WORKFLOWS),
                             environ=base_environ(CMS_TOKEN=CMS_TOKEN, CMS_SIGNING_KEY=CMS_SIGNING_KEY),
                             egress=LOCAL_EGRESS)
    assert outcome.ok, outcome.error
    got = http_server.last
    assert got.headers["authorization"] == f"Bearer {CMS_TOKEN}"
    assert got.headers["idempotency-key"] == f"{RUN_ID}:publish:1"
    timestamp, v1 = (part.split("=", 1)[1] for part in got.headers["x-conductor-signature"].split(","))
    assert v1 == hmac.new(CMS_SIGNING_KEY.encode(), f"{timestamp}.".encode() + got.body, hashlib.sha256).hexdigest()

    missing = run_automation(step, request_for(step, context), workflows_dir=str(WORKFLOWS), environ=base_environ(),
                             egress=LOCAL_EGRESS)
    assert (missing.ok, missing.retryable) == (False, False)
    assert "secret `CMS_TOKEN` is not set" in missing.error


def test_campaign_schedule(catalog):
    step = example(catalog, "campaign-launch", "schedule")
    context = {"steps": {"brief": {"outputs": {"launch_date": "2025-03-10", "channels": ["ads", "email"]}}}}
    outcome = run_example(step, context)
    assert outcome.ok, outcome.error
    assert outcome.outputs == {"schedule": "ads 2025-03-09T07:00\nemail 2025-03-10T08:00", "posts": 2}
    bad = run_example(step, {"steps": {"brief": {"outputs": {"launch_date": "soon", "channels": ["ads"]}}}})
    assert (bad.ok, bad.retryable, bad.error) == (False, False, "launch date 'soon' is not a date")


def test_onboarding_provision_and_a_client_the_rules_do_not_cover(catalog):
    step = example(catalog, "client-onboarding", "provision")
    outcome = run_example(step, {"inputs": {"company": "Acme", "plan": "growth", "seats": 40}})
    assert outcome.ok, outcome.error
    assert outcome.outputs["seats"] == 40 and outcome.outputs["account_id"].startswith("acct_")
    again = run_example(step, {"inputs": {"company": "Acme", "plan": "growth", "seats": 40}})
    assert again.outputs == outcome.outputs  # the same idempotency key gives the same account

    too_big = run_example(step, {"inputs": {"company": "Acme", "plan": "starter", "seats": 40}})
    assert (too_big.ok, too_big.retryable) == (False, False)
    assert "more than the starter plan allows" in too_big.error


def test_built_ins_never_reach_the_runner(catalog):
    step = example(catalog, "campaign-launch", "notify_social")
    with pytest.raises(ValueError, match="built-in"):
        run_automation(step, request_for(step, {}), workflows_dir=str(WORKFLOWS))


def test_a_request_for_another_step_is_a_callers_mistake(catalog):
    step = example(catalog, "client-onboarding", "provision")
    request = RunAutomation("welcome", 1, 1, f"{RUN_ID}:welcome:1", {"with": {}})
    with pytest.raises(ValueError, match="`welcome`"):
        run_automation(step, request, workflows_dir=str(WORKFLOWS))


def test_a_fault_of_the_runner_itself_comes_back_as_a_failure(catalog, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(f"disk trouble near {CMS_TOKEN}")

    monkeypatch.setattr(runner_module, "run_python", broken)
    step = example(catalog, "client-onboarding", "provision")
    step = step.model_copy(update={"with_": {**step.with_, "token": "${{ secrets.CMS_TOKEN }}"}})
    outcome = run_automation(step, request_for(step, {"inputs": {}}), workflows_dir=str(WORKFLOWS),
                             environ={"CMS_TOKEN": CMS_TOKEN})
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.error == "the automation runner failed: OSError: disk trouble near ***"


def test_the_run_id_comes_from_the_engines_idempotency_key():
    assert run_id_from_key(RunAutomation("seo", 2, 3, "r7kq2m9x:seo:2")) == "r7kq2m9x"
    assert run_id_from_key(RunAutomation("seo", 2, 3, "some-other-key")) == ""
