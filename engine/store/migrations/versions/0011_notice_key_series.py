"""notice_key.series and notice_key.occurs_on: the daily pruning of superseded keys is one
statement in the database instead of a read of every key

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5_000
# as engine.store.outbox (key_series, key_day), copied so that this migration stays as written
_DATED = re.compile(r"\d{4}-\d{2}-\d{2}(?:/|$)")


def _day(occurrence: str) -> date | None:
    if not _DATED.match(occurrence):
        return None
    try:
        return date.fromisoformat(occurrence[:10])
    except ValueError:
        return None


def upgrade() -> None:
    with op.batch_alter_table("notice_key") as batch:
        batch.add_column(sa.Column("series", sa.String(length=600), nullable=True))
        batch.add_column(sa.Column("occurs_on", sa.Date(), nullable=True))
    keys = sa.table("notice_key", sa.column("id", sa.Integer), sa.column("key", sa.String),
                    sa.column("series", sa.String), sa.column("occurs_on", sa.Date))
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(keys.c.id, keys.c.key).where(keys.c.id > last).order_by(keys.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        updates = []
        for key_id, key in rows:
            series, _, occurrence = key.rpartition("|")
            updates.append({"row_id": key_id, "series": series, "occurs_on": _day(occurrence)})
        conn.execute(keys.update().where(keys.c.id == sa.bindparam("row_id")), updates)
        last = rows[-1][0]
    with op.batch_alter_table("notice_key") as batch:
        batch.alter_column("series", existing_type=sa.String(length=600), nullable=False)
        batch.create_index("ix_notice_key_series_id", ["series", "id"])
        batch.create_index("ix_notice_key_occurs_on", ["occurs_on"])


def downgrade() -> None:
    with op.batch_alter_table("notice_key") as batch:
        batch.drop_index("ix_notice_key_occurs_on")
        batch.drop_index("ix_notice_key_series_id")
        batch.drop_column("occurs_on")
        batch.drop_column("series")
