"""robot_bucket: each WeCom robot's send window, shared by the instances, keyed by a URL hash

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "robot_bucket",
        sa.Column("robot", sa.String(length=64), nullable=False),
        sa.Column("sent", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("robot", name=op.f("pk_robot_bucket")),
    )


def downgrade() -> None:
    op.drop_table("robot_bucket")
