"""Two people, or one person twice, pressing the same button at the same moment: one
transition; whoever lost the race is told privately that it was already done."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.slack.blocks import actions as a
from tests.resilience.scenes import at_once, click_payload, command, interactive
from tests.resilience.stage import stage

SHARED = """
id: shared
channel: "#shared"
roles: {team: [U01ANN, U02BOB], approvers: [U03CAT, U04DAN]}
permissions: {start: [team]}
steps:
  - {id: task, ask: team, prompt: "Either of you"}
  - {id: approve, approvers: [approvers]}
"""
# (step, button, the two people pressing it)
PAIRS = {
    "two people answer": ("task", a.SUBMIT, ("U01ANN", "U02BOB")),
    "one person answers twice": ("task", a.SUBMIT, ("U02BOB", "U02BOB")),
    "two people approve": ("approve", a.APPROVE, ("U03CAT", "U04DAN")),
    "one person approves twice": ("approve", a.APPROVE, ("U04DAN", "U04DAN")),
}
ROUNDS = 3


@pytest.fixture
def on(migrated_db_url, tmp_path):
    with stage(migrated_db_url, tmp_path, {"shared": SHARED}, fake={"rate": 50.0, "burst": 5},
               messenger={"rate": 50.0, "burst": 5}) as on:
        yield on


def test_concurrent_clicks_on_one_button_have_one_effect(on):
    tally: Counter[str] = Counter()
    clicks = 0
    for n in range(ROUNDS * len(PAIRS)):
        assert command(on.url, "start shared", "U01ANN", trigger=f"start{n}") == 200
    on.settle()
    runs = on.run_ids()
    for k, (name, (step, button, people)) in enumerate(PAIRS.items()):
        targets = runs[k * ROUNDS:(k + 1) * ROUNDS]  # runs of their own; an approval's task is answered first
        if step == "approve":
            for run in targets:
                clicks += 1
                assert interactive(on.url, click_payload(a.SUBMIT, run, "task", "U01ANN", clicks)) == 200
            on.settle()
            tally["setup clicks"] += len(targets)
        for run in targets:
            seq = on.state(run).seq
            refused = len(on.fake.calls_to("chat.postEphemeral"))
            payloads = [click_payload(button, run, step, user, clicks + i + 1) for i, user in enumerate(people)]
            clicks += len(people)
            assert at_once([lambda p=p: interactive(on.url, p) for p in payloads]) == [200, 200]
            on.settle()
            tally["concurrent clicks"] += 2
            state = on.state(run)
            assert state.steps[step].status.value == "completed", name
            assert state.seq - seq == 1, name  # one transition
            told = [c.params["text"] for c in on.fake.calls_to("chat.postEphemeral")[refused:]]
            assert len(told) == 1 and told[0].startswith("Not done"), (name, told)
            tally["refused"] += 1
    for run in runs:
        completed = Counter(t for (t,) in on.rows(
            "select step_id from audit_events where run_id = :r and type = 'step_completed'", r=run))
        assert completed["task"] == 1, completed
        tally["doubled"] += sum(n - 1 for n in completed.values())
    on.drained()
    print(f"[double clicks] {dict(tally)}")
