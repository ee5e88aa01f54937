"""Campaigns say which language their source is written in

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not known for campaigns seeded before; the next `flask seed` fills it in.
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source_language", sa.String(length=8), nullable=False, server_default="")
        )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.alter_column("source_language", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("source_language")
