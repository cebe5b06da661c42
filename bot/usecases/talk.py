"""Plain messages as answers: a reply in a run's thread, a direct message to the bot.

Which waiting step a message answers is decided here, not in an adapter, so a reply from
someone the step does not wait on is refused by the engine (and audited) like any other act,
and the person is told why."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.definitions.steps import TaskStep
from bot.engine import events as ev
from bot.engine.permissions import is_member
from bot.engine.queries import waiting_on
from bot.engine.state import RunState, StepStatus
from bot.store.models import Run
from bot.usecases.base import Base
from bot.usecases.results import Decision, Ignored, decision_of

TEXT_TYPES = ("text", "string")


class TalkCases(Base):
    def reply_in_thread(self, channel: str, thread_ts: str, actor: str, text: str, *, key: str) -> Decision:
        """A reply in a run's thread answers the waiting task that takes a plain reply (no
        outputs, or one text output): the replier's own if they have one, else the first, which
        the engine then refuses as not theirs. Chatter in a thread that waits on no reply, or
        outside any run's thread, is `Ignored`."""
        with self.reading() as session:
            row = session.execute(select(Run.id, Run.workflow_version_id, Run.state)
                                  .where(Run.channel == channel, Run.thread_ts == thread_ts)).first()
            if row is None:
                return Ignored()
            workflow = self.versions.by_row(session, row.workflow_version_id).workflow
        state = RunState.from_json(row.state)
        answerable: list[tuple[str, dict[str, Any], bool]] = []
        for step in workflow.steps:
            st = state.steps[step.id]
            if not isinstance(step, TaskStep) or st.status != StepStatus.WAITING_ON_PERSON:
                continue
            outputs = _reply_outputs(step, text)
            if outputs is not None:
                answerable.append((step.id, outputs, is_member(actor, st.assignees, self.service.directory)))
        if not answerable:
            return Ignored()
        step_id, outputs, _ = next((found for found in answerable if found[2]), answerable[0])
        return decision_of(self.service.handle(row.id, ev.Answer(step_id, actor, outputs), key=key))

    def reply_by_dm(self, actor: str, text: str, *, key: str) -> Decision:
        """A direct message answers the person's next stand-up question, in their oldest open
        stand-up; with none open it is `Ignored`."""
        with self.reading() as session:
            open_standups = [w for w in waiting_on(session, self.versions, self.service.directory, actor)
                             if w.kind == "standup"]
        if not open_standups:
            return Ignored()
        item = open_standups[0]
        return decision_of(self.service.handle(item.run_id, ev.StandupReply(item.step_id, actor, text), key=key))


def _reply_outputs(step: TaskStep, text: str) -> dict[str, Any] | None:
    """What a plain reply would hand in for `step`, or None when it takes a form."""
    if not step.outputs:
        return {}
    if len(step.outputs) == 1:
        name, spec = next(iter(step.outputs.items()))
        if spec.type in TEXT_TYPES:
            return {name: text}
    return None
