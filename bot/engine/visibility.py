"""Who may see a run: reads follow permissions as changes do.

A person sees a run they started, are asked in (a step waits or waited on them, they
answered or approved), or are named to act on (the workflow's conductor, or a role that may
cancel, take over, skip, retry or reassign). A grant to `anyone` does not make a run
visible: it lets a stranger act when handed the run, not browse everyone's work. Admins see
everything; that is the caller's to add, since admins are the deployment's, not a workflow's.
Escalation errors and automation output are shown only to those who may act on them."""

from __future__ import annotations

from bot.definitions.workflow import Workflow
from bot.engine.permissions import EVERYONE, Directory, is_member, principals_of
from bot.engine.state import RunState

ACTING = ("cancel", "take_over", "skip", "retry", "reassign")
ON_ESCALATIONS = ("take_over", "skip", "retry")


def _named(workflow: Workflow, state: RunState, actions: tuple[str, ...]) -> list[str]:
    """The principals named for `actions` (and the conductor), without `anyone`."""
    names: list[str] = [workflow.conductor] if workflow.conductor else []
    for action in actions:
        names += workflow.permissions.roles_for(action)
    return [p for p in principals_of(workflow, names, state.started_by) if p != EVERYONE]


def may_see(workflow: Workflow, state: RunState, actor: str, directory: Directory) -> bool:
    if state.started_by == actor:
        return True
    for st in state.steps.values():
        if st.actor == actor or actor in st.answers or actor in st.approvals:
            return True
        if st.assignees and is_member(actor, [p for p in st.assignees if p != EVERYONE], directory):
            return True
    return is_member(actor, _named(workflow, state, ACTING), directory)


def may_handle_escalations(workflow: Workflow, state: RunState, actor: str, directory: Directory) -> bool:
    """Whether `actor` may see what went wrong in an automation (its error, its output)."""
    return is_member(actor, _named(workflow, state, ON_ESCALATIONS), directory)
