"""Organisers get a role: moderators, and coordinators who may hand data over

Accounts that exist already become coordinators, so nobody loses what they could do;
accounts made from now on are moderators unless made otherwise.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 20:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), nullable=False, server_default="coordinator")
        )
    # The model gives new accounts their role; the database keeps no default of its own.
    with op.batch_alter_table("organisers", schema=None) as batch_op:
        batch_op.alter_column("role", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("organisers", schema=None) as batch_op:
        batch_op.drop_column("role")
