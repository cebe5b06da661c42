"""What admins and leads steer: loading the workflow files again, and a stand-up's schedule.
Both are decided and audited here, accepted or refused, like any engine event."""

from __future__ import annotations

from bot.engine.checks import may
from bot.engine.schedules import set_schedule
from bot.usecases.base import Base
from bot.usecases.results import Refused, Reloaded, Steered

STEERING = ("pause", "resume", "skip")


class AdminCases(Base):
    def reload(self, actor: str) -> Reloaded | Refused:
        """Load the workflow files again (admins only). A refused file keeps its previous
        version running; the other admins are named in the result so someone fixes it."""
        admins = self._admins()
        if actor not in admins or self._reload is None:
            return self.refuse(actor, "Reload",
                               "only Conductor's admins (the `ADMINS` setting) may reload the workflow files")
        catalog = self._reload()
        problems = tuple(p.format() for p in catalog.errors)
        self.audit("workflows_reloaded", actor, {"files": catalog.files, "refused": len(problems)})
        return Reloaded(catalog.files, problems, tuple(sorted(admins - {actor})) if problems else ())

    def scheduled_workflows(self) -> tuple[list[str], list[str]]:
        """(workflows with a schedule, those of them with a stand-up)."""
        scheduled = [w for w in self.versions.workflow_ids() if self.versions.current(w).workflow.on.schedule]
        standups = [w for w in scheduled if any(s.kind == "standup" for s in self.versions.current(w).workflow.steps)]
        return scheduled, standups

    def steer_standup(self, actor: str, action: str, workflow_id: str) -> Steered | Refused:
        """Pause, resume, or skip the next scheduled run: the leads of the workflow only (those
        who may cancel its runs)."""
        if action not in STEERING:
            return Refused(f"`{action}` is not one of {', '.join(STEERING)}", "invalid_choice")
        scheduled, _ = self.scheduled_workflows()
        if workflow_id not in scheduled:
            return Refused(f"`{workflow_id}` has no schedule", "no_schedule")
        workflow = self.versions.current(workflow_id).workflow
        if not may(workflow, None, actor, "cancel", self.service.directory):
            return self.refuse(actor, f"Standup{action.capitalize()}",
                               f"only the leads of `{workflow_id}` (who may cancel its runs) may {action} it",
                               workflow_id=workflow_id)
        now = self.now()
        match action:
            case "pause":
                set_schedule(self.service.engine, workflow_id, actor, now, paused=True)
            case "resume":
                set_schedule(self.service.engine, workflow_id, actor, now, paused=False, skip_next=False)
            case _:
                set_schedule(self.service.engine, workflow_id, actor, now, skip_next=True)
        self.audit(f"standup_{action}", actor, {"workflow_id": workflow_id})
        return Steered(workflow_id, action)
