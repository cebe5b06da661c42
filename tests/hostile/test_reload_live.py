"""A broken workflow file dropped in while runs are live: `/conductor reload` refuses it with
`file:line:col` problems, the admin who reloads is told and the other admins get a DM, the
old version keeps running (a live run completes on it, new runs start on it)."""

from __future__ import annotations

import re

from bot.slack.blocks import actions as a
from tests.hostile.conftest import ADMIN, APPROVER, OTHER_ADMIN, OUTSIDER, STARTER, Live
from tests.hostile.payloads import click, message

PROBLEM = re.compile(r"approval\.yaml:\d+:\d+: E\d{3} ")


def test_a_broken_file_is_refused_and_the_old_version_runs_on(live_copy: Live):
    live = live_copy
    run_id = live.start("approval")
    version = live.scalar("select workflow_version_id from runs where id = :r", r=run_id)
    source = (live.folder / "approval.yaml").read_text()
    broken = source.replace("approvers: [approvers]", "approvers: [aprovers]").replace("  - id: draft", "  - id: draft\n    promt: oops")
    assert broken != source
    (live.folder / "approval.yaml").write_text(broken)
    (live.folder / "new-broken.yaml").write_text("id: new-broken\nsteps:\n\t- id: x\n")

    live.command("reload", user=ADMIN)
    live.idle()
    answer = live.said_to(ADMIN)[-1]
    assert "refused" in answer and "previous versions keep running" in answer
    assert len(PROBLEM.findall(answer)) >= 2 and "new-broken.yaml:" in answer
    assert "E101" in answer and "E203" in answer
    dm = live.said_to(OTHER_ADMIN)
    assert len(dm) == 1 and f"<@{ADMIN}> reloaded" in dm[0] and PROBLEM.search(dm[0])
    assert live.said_to(OUTSIDER) == [] and live.said_to(STARTER) == [answer]  # ADMIN is STARTER here

    # The live run completes on its version: a thread reply, then the approver's click.
    from tests.slack.signed import event

    assert event(live.url, message(STARTER, "the draft", "EvR1", thread_ts=live.thread_of(run_id)))[0] == 200
    live.idle()
    assert live.state(run_id).steps["draft"].status.value == "completed"
    assert live.interactive(click(APPROVER, a.APPROVE, run_id, "approve", n=3))[0] == 200
    live.idle()
    assert live.state(run_id).status.value == "completed"

    # New runs still start on the version that loaded.
    again = live.start("approval")
    assert live.scalar("select workflow_version_id from runs where id = :r", r=again) == version
    assert live.logs.errors() == []

    # Fixed, the file loads again and everyone hears nothing more.
    (live.folder / "approval.yaml").write_text(source)
    (live.folder / "new-broken.yaml").unlink()
    live.command("reload", user=ADMIN)
    live.idle()
    assert live.said_to(ADMIN)[-1].startswith("Reloaded ")
    assert len(live.said_to(OTHER_ADMIN)) == 1
