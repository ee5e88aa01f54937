"""Campaigns have a surge mode of their own, which their coordinators switch

Until now surge mode was one setting of the whole site (CAMPAIGN_SURGE_MODE), changed by
whoever runs the server and followed by a reload. Every campaign starts with it off; the
setting still turns it on for all.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 05:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Off for the campaigns there are; the default serves them only, as the model has none.
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("surge_mode", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.alter_column("surge_mode", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("surge_mode")
