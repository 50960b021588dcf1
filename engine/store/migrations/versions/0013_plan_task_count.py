"""plan.task_count: how many of the plan's tasks are in its file, kept by each load, so that the
start line does not count every task of the database

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch: on SQLite a batch copies the table and drops the old one,
    # and with foreign keys on that drop deletes every task (ON DELETE CASCADE).
    op.add_column("plan", sa.Column("task_count", sa.Integer(), nullable=False, server_default="0"))
    plan = sa.table("plan", sa.column("id", sa.String), sa.column("task_count", sa.Integer))
    task = sa.table("task", sa.column("plan_id", sa.String), sa.column("in_plan", sa.Boolean))
    counted = (
        sa.select(sa.func.count())
        .where(task.c.plan_id == plan.c.id, task.c.in_plan.is_(True))
        .scalar_subquery()
    )
    op.get_bind().execute(plan.update().values(task_count=counted))


def downgrade() -> None:
    op.drop_column("plan", "task_count")  # SQLite ≥ 3.35 drops a column in place
