"""planning_mark.dues: the open tasks' due dates the marked pass read, so that a pass after which
no task changed does not group every task by its due date again

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("planning_mark") as batch:
        batch.add_column(sa.Column("dues", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("planning_mark") as batch:
        batch.drop_column("dues")
