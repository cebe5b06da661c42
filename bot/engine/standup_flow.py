"""The stand-up step as the run moves: asking each person at their own opening, closing after
the last window, and turning blockers into work with an owner."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.definitions.builtin import BLOCKER_HANDOFF
from bot.definitions.fields import FieldSpec
from bot.definitions.steps import StandupStep
from bot.engine import events as ev
from bot.engine.checks import WAITING, must_be_assignee, step_of, valid_outputs
from bot.engine.context import render_text
from bot.engine.effects import StartRun
from bot.engine.messages import StandupPrompt, StandupQuestion, StandupSummary, StandupThanks
from bot.engine.permissions import principals_of, users_of
from bot.engine.standup import skip_reason, standup_day, window_for
from bot.engine.state import StepState, StepStatus

if TYPE_CHECKING:
    from bot.engine.progress import Transition

# Answers to a blocker question that mean "no blocker".
NOT_BLOCKERS = {"no", "none", "nope", "n/a", "na", "-", "nothing", "no blockers", "all good"}


def start(t: Transition, step: StandupStep, st: StepState, context: dict[str, Any]) -> None:
    """Ask each participant at the opening of their own window; close after the last."""
    day = standup_day(t.now, t.workflow.timezone)
    reason = skip_reason(step, day)
    if reason is not None:
        t.finish(step.id, StepStatus.SKIPPED, reason=reason)
        return
    allowed = principals_of(t.workflow, step.participants, t.state.started_by)
    everyone = users_of(allowed, t.directory)
    # Whoever is away today is neither asked nor reminded; the summary says they are away.
    st.away = [user for user in everyone if t.directory.is_away(user, day)]
    st.assignees = [user for user in everyone if user not in st.away]
    st.status = StepStatus.WAITING_ON_PERSON
    last_close = t.now
    for user in st.assignees:
        window = window_for(step, user, day, t.directory.user_timezone(user), t.workflow.timezone)
        st.closes[user] = window.closes.isoformat()
        last_close = max(last_close, window.closes)
        if window.opens <= t.now:
            prompt(t, step, user, context)
        else:
            t.set_timer("standup_open", step.id, window.opens, user, user=user)
        for n, offset in enumerate(step.remind):
            at = window.opens + offset
            if t.now < at < window.closes:
                t.set_timer(
                    "reminder",
                    step.id,
                    at,
                    f"{user}:{n}",
                    n=n,
                    user=user,
                    last=n == len(step.remind) - 1,
                )
    t.set_timer("close", step.id, last_close)
    if not st.assignees:
        close(t, step.id)


def prompt(
    t: Transition, step: StandupStep, user: str, context: dict[str, Any] | None = None
) -> None:
    st = t.state.steps[step.id]
    text = render_text(step.prompt, context or t.context())
    t.emit(
        StandupPrompt(
            step_id=step.id,
            to=(user,),
            title=step.title,
            text=text,
            questions=tuple(q.id for q in step.questions),
            closes=st.closes.get(user),
            # Or answer by replying in the DM, one question at a time, starting here:
            first_question=step.questions[0].text,
        )
    )


def close(t: Transition, step_id: str) -> None:
    step = t.workflow.step(step_id)
    assert isinstance(step, StandupStep)
    st = t.state.steps[step_id]
    outputs = {
        q.id: "\n".join(
            f"<@{user}>: {answers[q.id]}"
            for user, answers in st.answers.items()
            if answers.get(q.id)
        )
        for q in step.questions
    }
    hand_over_blockers(t, step, st)
    missing = [user for user in st.assignees if user not in st.answers]
    t.emit(
        StandupSummary(
            step_id=step_id,
            answers={user: dict(answers) for user, answers in st.answers.items()},
            missing=tuple(missing),
            late=tuple(st.late),
            away=tuple(st.away),
            questions={q.id: q.text for q in step.questions},
            blockers=tuple(q.id for q in step.questions if q.blocker),
        )
    )
    t.finish(step_id, StepStatus.COMPLETED, outputs=outputs)


# --- answers ------------------------------------------------------------------------------------
def standup_fields(step: StandupStep) -> dict[str, FieldSpec]:
    return {q.id: FieldSpec(type=q.type, options=q.options, required=q.required, label=q.text) for q in step.questions}


def take_answers(t: Transition, step: StandupStep, st: StepState, actor: str, answers: dict[str, Any]) -> None:
    st.answers[actor] = valid_outputs(standup_fields(step), answers)
    st.drafts.pop(actor, None)
    closes = st.closes.get(actor)
    if closes and t.now > datetime.fromisoformat(closes) and actor not in st.late:
        st.late.append(actor)  # taken all the same, and marked late in the summary
    if all(user in st.answers for user in st.assignees):
        t.close_standup(step.id)


def answer(t: Transition, e: ev.StandupAnswer) -> None:
    """The stand-up's form, submitted: all of one participant's answers at once."""
    step, st = step_of(t, e.step_id, (StandupStep,), WAITING)
    must_be_assignee(t, st, e.actor, "stand-up")
    take_answers(t, step, st, e.actor, e.answers)


def reply(t: Transition, e: ev.StandupReply) -> None:
    """Answering in a DM, one question at a time: each reply answers the next question."""
    step, st = step_of(t, e.step_id, (StandupStep,), WAITING)
    must_be_assignee(t, st, e.actor, "stand-up")
    draft = dict(st.drafts.get(e.actor, {}))
    pending = [q for q in step.questions if q.id not in draft]
    question = pending[0]
    fields = standup_fields(step)
    reply = e.text.strip()
    if reply:
        valid_outputs({question.id: fields[question.id].model_copy(update={"required": True})}, {question.id: reply})
    draft[question.id] = reply or None
    if len(pending) > 1:
        st.drafts[e.actor] = draft
        following = pending[1]
        t.emit(StandupQuestion(step_id=step.id, to=(e.actor,), title=step.title, text=following.text,
                               question=following.id))
        return
    take_answers(t, step, st, e.actor, {k: v for k, v in draft.items() if v is not None})
    t.emit(StandupThanks(step_id=step.id, to=(e.actor,), title=step.title))


def hand_over_blockers(t: Transition, step: StandupStep, st: StepState) -> None:
    """Each blocker raised becomes a run of its own, owned by whoever conducts the team."""
    owners = principals_of(t.workflow, [t.workflow.conductor or "starter"], t.state.started_by)
    for question in (q for q in step.questions if q.blocker):
        for user, answers in st.answers.items():
            text = str(answers.get(question.id) or "").strip()
            if not text or text.lower().strip(".!") in NOT_BLOCKERS:
                continue
            if not owners:
                t.audit("blocker_unowned", step_id=step.id, reported_by=user)
                continue
            key = f"{t.state.run_id}:{step.id}:{st.attempt}:blocker:{user}:{question.id}"
            t.emit(
                StartRun(
                    BLOCKER_HANDOFF,
                    {
                        "owner": owners[0],
                        "reported_by": user,
                        "blocker": text,
                        "standup": t.state.run_id,
                    },
                    key,
                )
            )
