"""The stand-up report: one row per person and stand-up day, answered, late, away, missing
(or still pending while the stand-up is open), with the blockers they raised.

Read from the stand-up step's recorded state (who was asked, who was away that day, whose
answer came after their own window, their answers and window close) and from the audit log
(when each answer was taken, when each person was asked)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.definitions.steps import StandupStep
from bot.engine.standup import standup_day
from bot.engine.standup_flow import NOT_BLOCKERS
from bot.engine.state import StepStatus
from bot.history.events import HistoryEvent
from bot.history.ocel import iso
from bot.history.privacy import Privacy
from bot.history.source import History
from bot.history.table import csv_text

ANSWERED, LATE, AWAY, MISSING, PENDING = "answered", "late", "away", "missing", "pending"
COLUMNS = ("date", "workflow", "run_id", "step_id", "person", "status", "asked_at", "answered_at",
           "window_closes", "blockers")


@dataclass(frozen=True)
class StandupRow:
    date: str
    workflow: str
    run_id: str
    step_id: str
    person: str
    status: str
    asked_at: str = ""
    answered_at: str = ""
    window_closes: str = ""
    blockers: tuple[str, ...] = ()
    answers: dict[str, Any] = field(default_factory=dict)  # only with --include-private


def blockers_of(step: StandupStep, answers: dict[str, Any]) -> tuple[str, ...]:
    """The blockers a participant raised: non-empty answers to blocker questions that are not
    a "no" (the same rule that turns them into runs)."""
    raised = []
    for question in step.questions:
        text = str(answers.get(question.id) or "").strip()
        if question.blocker and text and text.lower().strip(".!") not in NOT_BLOCKERS:
            raised.append(text)
    return tuple(raised)


def standup_rows(history: History, events: list[HistoryEvent], privacy: Privacy) -> list[StandupRow]:
    asked: dict[tuple[str, str, str], HistoryEvent] = {}
    answered: dict[tuple[str, str, str], HistoryEvent] = {}
    for event in events:
        if event.activity == "step asked" and event.step_id:
            for person, _ in event.related:
                asked.setdefault((event.run.id, event.step_id, person), event)
        elif event.activity == "step answered" and event.step_id and event.actor:
            answered[(event.run.id, event.step_id, event.actor)] = event  # the last one counts
    rows: list[StandupRow] = []
    for run in history.runs.values():
        for step in run.workflow.steps:
            st = run.state.steps.get(step.id)
            if not isinstance(step, StandupStep) or st is None or st.started_at is None:
                continue
            if st.status in (StepStatus.PENDING, StepStatus.SKIPPED) and not (st.assignees or st.away):
                continue  # not reached, or no stand-up that day (a weekend, a holiday)
            day = standup_day(st.started_at, run.workflow.timezone).isoformat()
            for person in sorted({*st.assignees, *st.away}):
                key = (run.id, step.id, person)
                answers = st.answers.get(person)
                if person in st.away:
                    status = AWAY
                elif answers is not None:
                    status = LATE if person in st.late else ANSWERED
                else:
                    status = PENDING if st.active else MISSING
                rows.append(StandupRow(
                    date=day, workflow=run.workflow_id, run_id=run.id, step_id=step.id, person=person,
                    status=status, asked_at=iso(asked[key].time) if key in asked else "",
                    answered_at=iso(answered[key].time) if answers is not None and key in answered else "",
                    window_closes=iso(datetime.fromisoformat(st.closes[person])) if person in st.closes else "",
                    blockers=blockers_of(step, answers or {}),
                    answers=privacy.values(answers or {}),
                ))
    rows.sort(key=lambda r: (r.date, r.workflow, r.run_id, r.step_id, r.person))
    return rows


def _plain(row: StandupRow, privacy: Privacy) -> dict[str, Any]:
    plain: dict[str, Any] = {name: getattr(row, name) for name in COLUMNS}
    plain["blockers"] = list(row.blockers)
    if privacy.include_private:
        plain["answers"] = row.answers
    return plain


def report_json(rows: list[StandupRow], privacy: Privacy) -> str:
    return json.dumps([_plain(row, privacy) for row in rows], indent=2, ensure_ascii=False) + "\n"


def report_csv(rows: list[StandupRow], privacy: Privacy) -> str:
    columns = COLUMNS + (("answers",) if privacy.include_private else ())
    plain = []
    for row in rows:
        line = {**_plain(row, privacy), "blockers": " | ".join(row.blockers)}
        if privacy.include_private:
            line["answers"] = json.dumps(row.answers, sort_keys=True, ensure_ascii=False) if row.answers else ""
        plain.append(line)
    return csv_text(plain, columns)
