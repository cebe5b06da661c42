"""Shadow runs through the real service and database: compared per field, never a change."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.engine import events as ev
from tests.harness import START, Harness
from tests.shadow.helpers import cases, make_folder, run_shadows

ANSWER = {"team": "  backend ", "estimate": 0.9, "labels": ["a", "b", "a"], "note": "same"}


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path)


def rows(h: Harness, sql: str, **params):
    from sqlalchemy import text

    with h.sessions() as session:
        return [tuple(row) for row in session.execute(text(sql), params)]


def _json(value):
    import json

    return json.loads(value) if isinstance(value, str) else value


def harness(url: str, folder) -> Harness:
    return Harness(url, [str(folder)])


def test_agreement_is_compared_per_field_in_each_mode(migrated_db_url, folder):
    h = harness(migrated_db_url, folder)
    run = h.start("shady", "UOPS", title="Backend outage", amount=50).run_id
    assert h.count("select count(*) from timers where kind = 'shadow'") == 1
    assert run_shadows(h, folder) == 1
    assert h.send(run, ev.Answer("triage", "UOPS", ANSWER)).accepted
    [case] = cases(h)
    assert case.source == "shadow" and case.candidate_status == "ok" and case.agreed is True
    assert {name: f["agree"] for name, f in case.fields.items()} == {
        "team": True, "estimate": True, "labels": True, "note": True}
    assert case.fields["team"]["mode"] == "normalized" and case.fields["estimate"]["mode"] == "number ±0.5"
    assert case.candidate["shadowed"] == ""  # a Python candidate sees no variable; a command does
    assert case.inputs["with"] == {"title": "Backend outage"} and case.inputs["inputs"]["amount"] == 50
    assert h.count("select count(*) from audit_events where type = 'shadow_compared'") == 1
    h.close()


def test_the_person_first_then_the_shadow_and_an_exact_field_disagrees(migrated_db_url, tmp_path):
    folder = make_folder(tmp_path, fn="wrong")
    h = harness(migrated_db_url, folder)
    run = h.start("shady", "UOPS", title="Backend outage", amount=50).run_id
    assert h.send(run, ev.Answer("triage", "UOPS", ANSWER)).accepted
    assert cases(h) == []
    run_shadows(h, folder)
    [case] = cases(h)
    assert case.agreed is False and not any(f["agree"] for f in case.fields.values())
    assert case.is_case and case.person["team"] == "  backend "
    h.close()


@pytest.mark.parametrize(("fn", "timeout", "status"), [("broken", "20s", "failed"), ("slow", "1s", "timed_out")])
def test_a_shadow_that_fails_or_times_out_is_recorded_and_changes_nothing(migrated_db_url, tmp_path, fn, timeout, status):
    folder = make_folder(tmp_path, fn=fn, timeout=timeout)
    h = harness(migrated_db_url, folder)
    run = h.start("shady", "UOPS", title="x", amount=50).run_id
    before = h.state(run)
    updated = h.count("select count(*) from runs where updated_at = (select max(updated_at) from runs)")
    outbox = h.count("select count(*) from outbox")
    run_shadows(h, folder)
    after = h.state(run)
    assert after.seq == before.seq and after.steps == before.steps and after.timers == before.timers
    assert h.count("select count(*) from outbox") == outbox
    assert updated == 1
    h.send(run, ev.Answer("triage", "UOPS", ANSWER))
    [case] = cases(h)
    assert case.candidate_status == status and case.agreed is False and case.candidate is None
    h.close()


def test_approval_and_decision_shadows(migrated_db_url, folder):
    h = harness(migrated_db_url, folder)
    run = h.start("shady", "UOPS", title="Backend outage", amount=150).run_id
    h.send(run, ev.Answer("triage", "UOPS", ANSWER))
    h.send(run, ev.Approve("sign", "ULEAD"))
    run_shadows(h, folder)
    h.send(run, ev.Decide("choose", "ULEAD", "Big"))
    run_shadows(h, folder)
    by_step = {c.step_id: c for c in cases(h)}
    assert by_step["sign"].person == {"approved": True} and by_step["sign"].agreed is False
    assert by_step["choose"].person == {"route": "big"} and by_step["choose"].agreed is True
    h.close()


def test_a_shadow_changes_neither_path_nor_timing_nor_outbox(migrated_db_url, folder, tmp_path):
    """The same run with and without shadows takes the same path at the same times and posts the same."""
    plain = tmp_path / "plain"
    plain.mkdir()
    text = (folder / "shady.yaml").read_text().replace("id: shady", "id: plain\nname: shady")
    (plain / "plain.yaml").write_text(re.sub(r"    shadow:\n(      .*\n)+", "", text))
    h = Harness(migrated_db_url, [str(folder), str(plain)])
    seen = []
    for workflow_id, shadows in (("shady", True), ("plain", False)):
        h.now = START
        run = h.start(workflow_id, "UOPS", title="Backend outage", amount=50).run_id
        if shadows:
            run_shadows(h, folder)
        h.send(run, ev.Answer("triage", "UOPS", ANSWER))
        h.wait(timedelta(minutes=5))
        h.send(run, ev.Approve("sign", "ULEAD"))
        if shadows:
            run_shadows(h, folder)
        h.send(run, ev.Decide("choose", "ULEAD", "Small"))
        h.send(run, ev.Answer("small", "UOPS"))
        if shadows:
            h.now += timedelta(hours=1)
            run_shadows(h, folder)  # after the run ended: still compared, the run as it was
        state = h.state(run)
        outbox = rows(h, "select kind, payload from outbox where run_id = :r order by id", r=run)
        times = rows(h, "select status, updated_at, finished_at from runs where id = :r", r=run)
        steps = rows(h, "select step_id, status, started_at, finished_at from step_runs where run_id = :r order by id",
                       r=run)
        kinds = [(kind, {k: v for k, v in _json(payload).items() if k not in ("run_id", "workflow_id")})
                 for kind, payload in outbox]
        seen.append(({k: (s.status, s.outputs, s.route) for k, s in state.steps.items()}, state.status, state.seq,
                     kinds, times, steps))
        if shadows:
            assert len(cases(h)) == 3 and state.shadows == {}
            assert h.count("select count(*) from timers where kind = 'shadow' and fired_at is null") == 0
    assert seen[0] == seen[1]
    h.close()


def test_a_claimed_shadow_lost_with_its_clock_runs_again_after_its_lease_and_is_applied_once(migrated_db_url, folder):
    from bot.shadow.claims import claim_shadows, record_shadow

    h = harness(migrated_db_url, folder)
    run = h.start("shady", "UOPS", title="Backend outage", amount=50).run_id
    [lost] = claim_shadows(h.service, h.now)  # the clock dies with it
    assert claim_shadows(h.service, h.now) == []  # leased
    h.now += timedelta(seconds=81)  # 20 s timeout + 60 s
    [again] = claim_shadows(h.service, h.now)
    assert again.key == lost.key
    assert record_shadow(h.service, again, "ok", {"team": "backend", "estimate": 1, "labels": ["a", "b"],
                                                  "note": "same"}, None).accepted
    assert record_shadow(h.service, lost, "ok", {"team": "x"}, None).status == "duplicate"
    h.send(run, ev.Answer("triage", "UOPS", ANSWER))
    [case] = cases(h)
    assert case.agreed is True
    assert [d.step_id for d in claim_shadows(h.service, h.now + timedelta(hours=1))] == ["sign"]
    h.close()


def test_a_take_over_is_a_case(migrated_db_url, tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "t.yaml").write_text(
        "id: t\nroles: {ops: [UOPS]}\ninputs: {title: string}\nsteps:\n"
        "  - id: seo\n    uses: automations.x:y\n    with: {title: '{{ inputs.title }}'}\n"
        "    outputs: {slug: string}\n    retry: {attempts: 1}\n    escalate_to: ops\n"
        "  - {id: done, ask: ops}\n")
    h = harness(migrated_db_url, folder)
    from tests.harness import fails

    h.automations["seo"] = lambda r: fails("down")
    run = h.start("t", "UOPS", title="Hello").run_id
    h.run_automations()
    assert h.send(run, ev.TakeOver("seo", "UOPS", {"slug": "hello"})).accepted
    [case] = cases(h)
    assert case.source == "take_over" and case.person == {"slug": "hello"} and case.candidate is None
    assert case.inputs["with"] == {"title": "Hello"} and case.candidate_error and case.is_case
    h.close()


def test_a_rejection_is_compared_on_its_verdict_and_a_skipped_step_leaves_nothing_behind(migrated_db_url, folder):
    h = harness(migrated_db_url, folder)
    run = h.start("shady", "UOPS", title="Backend outage", amount=50).run_id
    h.send(run, ev.Skip("triage", "UOPS"))  # nobody answers triage: its shadow has nothing to meet
    h.send(run, ev.Reject("sign", "ULEAD", "no"))
    run_shadows(h, folder)
    [case] = cases(h)
    assert (case.step_id, case.person, list(case.fields), case.agreed) == ("sign", {"approved": False}, ["approved"], False)
    assert h.state(run).shadows == {}
    h.close()
