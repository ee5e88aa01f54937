"""The removals line counts only signatures that were in the count

"N signatures were removed from the count" counted every invalidated signature, those never
confirmed too, so it could say more were removed than the count had lost. The table is
filled again from the signatures that were confirmed before they were invalidated.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 08:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


_FILL = (
    "INSERT INTO removal_counts (campaign_id, reason, removed) "
    "SELECT campaign_id, invalid_reason, count(*) FROM signatures "
    "WHERE status = 'invalidated' {} GROUP BY campaign_id, invalid_reason"
)


def upgrade() -> None:
    op.execute("DELETE FROM removal_counts")
    op.execute(_FILL.format("AND confirmed_at IS NOT NULL"))


def downgrade() -> None:
    op.execute("DELETE FROM removal_counts")
    op.execute(_FILL.format(""))
