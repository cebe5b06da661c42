"""Drop the index on step_runs (assignee, status). A stand-up's step run names every
participant in `assignee`, joined by commas; on PostgreSQL a stand-up of more than about 200
people could not start, its row too large for a btree index entry. Nothing reads step runs by
assignee (who a step waits on is read from the run's state), so the index only cost writes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 00:00:01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(op.f("ix_step_runs_assignee_status"), table_name="step_runs")


def downgrade() -> None:
    op.create_index(op.f("ix_step_runs_assignee_status"), "step_runs", ["assignee", "status"])
