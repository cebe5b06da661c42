"""Shadow runs in a rehearsal, as the clock runs them: each row due is claimed and run by the
same code (`bot.shadow.claims`, `bot.shadow.worker.run_one`), in the same sandbox (`http`
never sent, `CONDUCTOR_SHADOW=1` for a command), on the rehearsal's thread at the moment it
falls due. Nothing a shadow does reaches the run or Slack; the shell only tells, in a short
line, that one ran and how its comparison with the person came out.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from bot.engine.service import ConductorService
from bot.engine.versions import WorkflowVersions
from bot.shadow.claims import claim_shadows
from bot.shadow.tables import ShadowCase
from bot.shadow.worker import run_one


class RehearsalShadows:
    def __init__(self, service: ConductorService, versions: WorkflowVersions, workflows_dir: str,
                 tell: Callable[[str], None]):
        self.service = service
        self.versions = versions
        self.workflows_dir = workflows_dir
        self.tell = tell
        self._told = self._last_case()  # a reused `--db` keeps its old comparisons untold

    def run_due(self) -> int:
        """Run every shadow due now, here; how many were run."""
        dispatches = claim_shadows(self.service, self.service.clock())
        for dispatch in dispatches:
            self.tell(f"{dispatch.step_id}: its shadow runs beside the person (sandboxed)")
            run_one(self.service, self.versions, self.workflows_dir, dispatch)
        return len(dispatches)

    def tell_compared(self) -> None:
        """One line for each comparison recorded since the last call (the person's answer, or
        the shadow's result, whichever came second, made it)."""
        query = (select(ShadowCase).where(ShadowCase.id > self._told, ShadowCase.source == "shadow")
                 .order_by(ShadowCase.id))
        with self.service.sessions() as db:
            compared = list(db.scalars(query))
        for case in compared:
            self.tell(compared_line(case))
            self._told = case.id

    def _last_case(self) -> int:
        with self.service.sessions() as db:
            return db.scalar(select(func.max(ShadowCase.id))) or 0


def compared_line(case: ShadowCase) -> str:
    """`triage: shadow compared — agreed`, or on which fields it did not."""
    said = f"{case.step_id}: shadow compared — "
    if case.agreed is None:
        return said + "not judged (its http call is never sent)"
    if case.agreed:
        return said + "agreed"
    if case.candidate_status != "ok":
        return said + f"disagreed: the shadow {case.candidate_status.replace('_', ' ') if case.candidate_status else 'failed'}"
    differ = [name for name, f in (case.fields or {}).items() if not f.get("agree")]
    return said + "disagreed on " + ", ".join(differ)
