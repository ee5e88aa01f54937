"""Removals by reason kept in a table of their own, filled from the signatures

The index that the campaign page counted them from is dropped: nothing else reads it, and
every new signature paid for keeping it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 18:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "removal_counts",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_removal_counts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "reason", name=op.f("pk_removal_counts")),
    )
    op.execute(
        "INSERT INTO removal_counts (campaign_id, reason, removed) "
        "SELECT campaign_id, invalid_reason, count(*) FROM signatures "
        "WHERE status = 'invalidated' GROUP BY campaign_id, invalid_reason"
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_signatures_campaign_status_reason")


def downgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signatures_campaign_status_reason",
            ["campaign_id", "status", "invalid_reason"],
            unique=False,
        )
    op.drop_table("removal_counts")
