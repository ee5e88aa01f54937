"""page indexes: approved comments and removals by reason without walking every signature

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 16:24:49.597036
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signatures_campaign_comment_status",
            ["campaign_id", "comment_status", "status", "confirmed_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_signatures_campaign_status_reason",
            ["campaign_id", "status", "invalid_reason"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_signatures_campaign_status_reason")
        batch_op.drop_index("ix_signatures_campaign_comment_status")
