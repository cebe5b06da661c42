"""Stand-up messages: the prompt each participant gets, and the summary at close."""

from __future__ import annotations

from typing import Any

from bot.engine.messages import StandupPrompt, StandupQuestion, StandupSummary, StandupThanks
from bot.slack.blocks import actions as a
from bot.slack.blocks import kit
from bot.slack.blocks import text as t
from bot.slack.blocks.kit import Block
from bot.slack.blocks.payloads import Payload

ANSWER_CHARS = 600  # of one answer in the summary; the whole answer stays in the run's outputs


def standup_prompt(p: Payload, m: StandupPrompt) -> tuple[str, list[Block]]:
    """A participant's DM: the prompt, and Answer to open the questions."""
    blocks = [kit.section(f":wave: {p.who + ', t' if p.who else 'T'}ime for the stand-up of *{t.escape(p.workflow)}*.")]
    if m.text.strip():
        blocks += kit.sections(t.escape(m.text), max_blocks=3)
    count = len(m.questions)
    blocks.append(kit.context(f"{count} question{'s' if count != 1 else ''} · run `{t.escape(p.run_id)}`"))
    blocks.append(kit.actions(kit.button("Answer", a.STANDUP_ANSWER, p.value(), style="primary")))
    first = m.first_question
    if first:
        blocks.append(kit.section(f"Or reply here, one answer per message. First: *{t.escape(first)}*"))
    return f"Time for the stand-up of {t.escape(p.workflow)}", blocks


def standup_question(p: Payload, m: StandupQuestion) -> tuple[str, list[Block]]:
    """The next question of a stand-up answered by DM."""
    text = f"{p.who + ': n' if p.who else 'N'}ext: *{t.escape(m.text)}*"
    return text, [kit.section(text)]


def standup_thanks(p: Payload, m: StandupThanks) -> tuple[str, list[Block]]:
    text = f":white_check_mark: Thanks{', ' + p.who if p.who else ''}: your stand-up answers are in. Use *Answer* above to change them."
    return text, [kit.section(text)]


def is_blocker(answer: Any) -> bool:
    """A blocker question's answer says there is a blocker when it says anything at all."""
    if isinstance(answer, str):
        return bool(answer.strip()) and answer.strip().lower() not in ("no", "none", "nothing", "n/a", "-")
    return bool(answer)


def _answer(answer: Any) -> str:
    return t.truncate_mrkdwn(t.escape(answer), ANSWER_CHARS)


def _person(user: str, answers: dict[str, Any], questions: dict[str, str], blockers: set[str]) -> Block:
    lines = [f"*{t.mention(user)}*"]
    for qid, question in questions.items():
        answer = answers.get(qid)
        if answer is None or answer == "":
            continue
        if qid in blockers and is_blocker(answer):
            lines.append(f":construction: *{t.escape(question)}*\n>{_answer(answer)}")
        else:
            lines.append(f"_{t.escape(question)}_\n{_answer(answer)}")
    if len(lines) == 1:
        lines.append("_no answers_")
    return kit.section("\n".join(lines))


def standup_summary(p: Payload, m: StandupSummary) -> tuple[str, list[Block]]:
    """Answers grouped by person, blockers first and marked, and who did not answer."""
    answers = m.answers
    questions = dict(m.questions)
    for per_person in answers.values():  # answers to questions the payload does not name
        questions.update({qid: qid for qid in per_person if qid not in questions})
    blockers = set(m.blockers)
    missing = list(m.missing)

    blocked = [(user, qid, ans[qid]) for user, ans in answers.items() for qid in questions
               if qid in blockers and is_blocker(ans.get(qid))]
    head: list[Block] = [kit.header(f"Stand-up summary: {p.workflow}")]
    counts = f"{len(answers)} answered" + (f" · {len(missing)} did not" if missing else "")
    if blocked:
        counts += f" · {len(blocked)} blocker{'s' if len(blocked) != 1 else ''}"
        lines = [f"• {t.mention(user)}: {_answer(answer)}" for user, _qid, answer in blocked]
        head.append(kit.section(":construction: *Blockers*\n" + "\n".join(lines)))
    head.append(kit.context(counts))
    tail: list[Block] = []
    if missing:
        tail.append(kit.context("No answer from " + t.mentions(missing)))
    # The engine neither asked nor reminded who is away, and took late answers all the same.
    if m.away:
        tail.append(kit.context("Away today: " + t.mentions(m.away)))
    if m.late:
        tail.append(kit.context("Answered after their window closed: " + t.mentions(m.late)))
    if not answers:
        head.append(kit.section("_Nobody answered._"))
    people = [[_person(user, ans, questions, blockers)] for user, ans in answers.items()]
    room = t.MESSAGE_BLOCKS - len(head) - len(tail) - 1
    body = [kit.divider()] + kit.fit_groups(people, room, noun="more people answered") if people else []
    fallback = f"Stand-up summary of {t.escape(p.workflow)}: {counts}"
    return fallback, head + body + tail
