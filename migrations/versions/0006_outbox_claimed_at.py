"""When the messenger last began a Slack call for an outbox row. A post whose fate is unknown
(the process died mid-call) is looked for at once, but sent again only once Slack has had
three client timeouts since then to apply a call it answered too late; an interrupted header
edit is made again only then, so that it lands last. A nullable column only, so the previous
release keeps working beside it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_at")
