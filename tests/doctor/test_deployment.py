"""The doctor's pure parts and the deployment checks: the lines, what the workflows name, the
scopes they need, the workflows folder, escalation channels and secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.definitions.loader import load_paths
from bot.doctor import run_doctor, text
from bot.doctor.check import Check, Level, failed, noted, passed, skipped
from bot.doctor.deployment import check_escalation, check_secrets, load_workflows
from bot.doctor.needs import Use, workflow_needs
from bot.doctor.report import exit_status, format_check
from bot.doctor.scopes import SCOPES, manifest_scopes, needed_scopes
from tests.doctor.stage import BLOG, STANDUP, doctor, line, settings_for, workspace, write_workflows


def test_lines_and_exit_status():
    assert format_check(passed("token", "bot @conductor")) == "ok    token: bot @conductor"
    assert format_check(failed("clock", "no clock leads", "start it")) == "FAIL  clock: no clock leads — start it"
    assert format_check(noted("Socket Mode", "not configured")) == "note  Socket Mode: not configured"
    assert format_check(skipped("clock", "later")) == "skip  clock: later"
    assert exit_status([passed("a", "b"), noted("c", "d"), skipped("e", "f")]) == 0
    assert exit_status([passed("a", "b"), failed("c", "d", None)]) == 1
    assert exit_status([]) == 0
    assert Check("x", Level.FAIL, "y").ok is False


def test_what_the_workflows_name(tmp_path: Path):
    folder = write_workflows(tmp_path, {"blog.yaml": BLOG, "daily.yaml": STANDUP})
    needs = workflow_needs(load_paths([str(folder)]), escalation_channel="ops", admins={"U0ADMIN"})
    assert list(needs.channels) == ["#ops", "#content", "#content-ops", "C0STANDUP"]
    assert [(p.where, p.use) for p in needs.channels["#ops"]] == [("ESCALATION_CHANNEL", Use.ESCALATION)]
    assert [(p.where, p.use, p.workflow) for p in needs.channels["#content"]] == [
        (f"{folder}/blog.yaml:3", Use.CHANNEL, "blog")]
    assert sorted(needs.users) == ["U01EDITOR", "U02ANA", "U03BEN", "U0ADMIN"]
    assert [(p.where, p.name) for p in needs.groups["S01WRITERS"]] == [(f"{folder}/blog.yaml:7", "writers")]
    assert [p.where for p in needs.secrets["CMS_TOKEN"]] == [f"{folder}/blog.yaml:18"]
    assert [(e.workflow, e.channel, e.run_channel) for e in needs.escalations] == [("blog", "#content-ops", "#content")]
    assert [p.workflow for p in needs.standups] == ["daily"]


def test_user_ids_named_by_steps_and_channels_of_posts(tmp_path: Path):
    folder = write_workflows(tmp_path, {"w.yaml": """\
id: w
inputs: {where: string}
steps:
  - id: ask
    ask: U09DIRECT
  - id: approve
    approvers: [U08APPROVER, S02LEADS]
  - id: tell
    uses: conductor/post
    with: {channel: "#announcements", text: done}
  - id: tell_templated
    uses: conductor/post
    with: {channel: "{{ inputs.where }}", text: done}
"""})
    needs = workflow_needs(load_paths([str(folder)]))
    assert sorted(needs.users) == ["U08APPROVER", "U09DIRECT"] and list(needs.groups) == ["S02LEADS"]
    assert [(p.use, p.name) for p in needs.users["U09DIRECT"]] == [(Use.STEP, "ask")]
    assert list(needs.channels) == ["#announcements"]
    assert needs.channels["#announcements"][0].where == f"{folder}/w.yaml:10"


def test_scopes_needed_follow_what_the_workflows_do(tmp_path: Path):
    nothing = workflow_needs(load_paths([str(write_workflows(tmp_path / "a", {"w.yaml": "id: w\nsteps: [{id: a, ask: starter}]\n"}))]))
    needed = needed_scopes(nothing)
    assert set(needed) == set(manifest_scopes())  # no channel named: channels:read not needed
    assert needed["chat:write"].required and not needed["im:write"].required
    assert not needed["usergroups:read"].required
    both = workflow_needs(load_paths([str(write_workflows(tmp_path / "b"))]))
    needed = needed_scopes(both)
    assert needed["im:write"].required and needed["users:read"].required
    assert needed["usergroups:read"].required and needed["channels:read"].required
    assert "channels:join" not in needed
    assert needed_scopes(both, manifest=("chat:write", "files:write"))["files:write"].why == "by the app's manifest"
    assert all(entry.why for entry in SCOPES.values())


def test_a_missing_scope_only_the_manifest_asks_for_is_a_note(tmp_path: Path):
    folder = write_workflows(tmp_path / "workflows", {"blog.yaml": BLOG})  # no stand-up
    with workspace(lacking=["im:history"]) as slack:
        _status, lines = doctor(settings_for(slack, "sqlite://", folder))
    assert line(lines, "note  scope im:history").startswith(
        "note  scope im:history: not granted; needed to read stand-up answers written as DM replies "
        "(the manifest asks for it; no workflow uses it yet) — add it")


def test_workflows_folder_problems(tmp_path: Path):
    checks, _ = load_workflows(str(tmp_path / "nope"))
    assert [format_check(c) for c in checks] == [
        f"FAIL  workflows: folder {tmp_path / 'nope'} not found — set WORKFLOWS_DIR to the folder of your workflow files"]
    checks, _ = load_workflows(str(tmp_path))
    assert format_check(checks[0]).startswith(f"FAIL  workflows: no workflow files (*.yaml, *.yml) in {tmp_path}")
    write_workflows(tmp_path, {"blog.yaml": BLOG, "broken.yaml": "id: broken\nsteps:\n  - id: a\n    ask: nobody\n"})
    checks, catalog = load_workflows(str(tmp_path))
    assert list(catalog.workflows) == ["blog"]
    assert [format_check(c) for c in checks] == [
        f"ok    workflows: 2 files in {tmp_path} loaded: blog",
        (f"FAIL  workflow {tmp_path}/broken.yaml:4:10: E203 no role `nobody`: declare it under `roles` — "
        "fix it: the file is left out until then (`conductor validate` lists every problem)"),
    ]


def test_escalation_channels():
    def escalations(source: str, setting: str | None = None) -> list[str]:
        from bot.definitions.loader import Catalog, load_bytes

        loaded, problems = load_bytes("w.yaml", source.encode())
        assert loaded is not None, problems
        needs = workflow_needs(Catalog({loaded.id: loaded}), escalation_channel=setting)
        return [format_check(c) for c in check_escalation(needs, setting)]

    automation = "steps:\n  - id: go\n    uses: conductor/wait\n"
    assert escalations("id: w\nchannel: '#runs'\n" + automation) == [
        ("note  escalation of w: no escalation_channel and ESCALATION_CHANNEL is not set: failing automations "
        "go to its runs' channel #runs — set ESCALATION_CHANNEL, or escalation_channel: in w.yaml:1")]
    assert escalations("id: w\n" + automation) == [
        ("FAIL  escalation of w: no escalation channel: it has automations, but no escalation_channel, no "
        "channel, and ESCALATION_CHANNEL is not set — set ESCALATION_CHANNEL, or escalation_channel: in w.yaml:1")]
    assert escalations("id: w\n" + automation, "#ops") == ["ok    escalation: w → #ops"]
    assert escalations("id: w\n" + automation, "Ops Team") == [
        "FAIL  escalation: ESCALATION_CHANNEL `Ops Team` is not a channel — write #name or a channel ID (C…)"]
    assert escalations("id: w\nsteps: [{id: a, ask: starter}]\n", "#ops") == [
        "ok    escalation: ESCALATION_CHANNEL is #ops; no workflow has an automation to escalate"]


def test_secrets_are_named_never_shown(tmp_path: Path):
    needs = workflow_needs(load_paths([str(write_workflows(tmp_path))]))
    assert [format_check(c) for c in check_secrets(needs, {})] == [
        (f"FAIL  secret CMS_TOKEN: not set (used at {tmp_path}/blog.yaml:18) — set the environment variable "
        "CMS_TOKEN for every bot process (`conductor serve` and `conductor clock`)")]
    assert next(format_check(c) for c in check_secrets(needs, {"CMS_TOKEN": ""})).startswith("FAIL  secret CMS_TOKEN")
    shown = [format_check(c) for c in check_secrets(needs, {"CMS_TOKEN": "cms-s3cret-value"})]
    assert shown == ["ok    secrets: CMS_TOKEN is set"]
    with workspace() as slack:
        _, lines = doctor(settings_for(slack, "sqlite://", tmp_path), {"CMS_TOKEN": "cms-s3cret-value"})
    assert not [text for text in lines if "cms-s3cret-value" in text or "xoxb-test" in text]


def test_a_check_that_breaks_is_one_failed_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def broken(*args):
        raise KeyError("boom")

    monkeypatch.setattr("bot.doctor.run.check_people", broken)
    with workspace() as slack:
        lines: list[str] = []
        status = run_doctor(settings_for(slack, "sqlite://", write_workflows(tmp_path)), lines.append, environ={})
    assert status == 1
    assert line(lines, "FAIL  people") == (
        f"FAIL  people: could not be checked: KeyError: 'boom' — {text.DOCTOR_CRASHED}")
    assert line(lines, "ok    escalation")  # the checks after it still ran
