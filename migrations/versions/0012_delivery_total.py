"""A delivery keeps its total: listed signatures and those counted but left out

A pack made again printed a total counted anew, without the signers who had asked to be
left out of the lists; the recorded delivery now keeps the total its pack printed.
Deliveries recorded before have none (their pack made again prints what it lists).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 08:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("total", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("total")
