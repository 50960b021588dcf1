"""task.revision, the task counter, notice_key.task and the planning mark: a pass reads only the
tasks that fell due or changed since the last pass, and only their keys; instance.kind (run, web)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5_000


def upgrade() -> None:
    with op.batch_alter_table("instance") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=10), nullable=False,
                                   server_default="run"))
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index("ix_task_revision", ["revision"])
        batch.create_index("ix_task_due", ["due"])
        batch.create_index("ix_task_deadline_kind", ["deadline_kind"])
    counter = op.create_table(
        "counter",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counter")),
    )
    op.bulk_insert(counter, [{"name": "task", "value": 0}])
    op.create_table(
        "planning_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planning_mark")),
    )
    with op.batch_alter_table("notice_key") as batch:
        batch.add_column(sa.Column("task", sa.String(length=400), nullable=True))
    keys = sa.table("notice_key", sa.column("id", sa.Integer), sa.column("key", sa.String),
                    sa.column("task", sa.String))
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(keys.c.id, keys.c.key).where(keys.c.id > last).order_by(keys.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            keys.update().where(keys.c.id == sa.bindparam("row_id")),
            [{"row_id": key_id, "task": "|".join(key.split("|", 2)[:2])} for key_id, key in rows],
        )
        last = rows[-1][0]
    with op.batch_alter_table("notice_key") as batch:
        batch.alter_column("task", existing_type=sa.String(length=400), nullable=False)
        batch.create_index("ix_notice_key_task", ["task"])


def downgrade() -> None:
    with op.batch_alter_table("instance") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("notice_key") as batch:
        batch.drop_index("ix_notice_key_task")
        batch.drop_column("task")
    op.drop_table("planning_mark")
    op.drop_table("counter")
    with op.batch_alter_table("task") as batch:
        batch.drop_index("ix_task_deadline_kind")
        batch.drop_index("ix_task_due")
        batch.drop_index("ix_task_revision")
        batch.drop_column("revision")
