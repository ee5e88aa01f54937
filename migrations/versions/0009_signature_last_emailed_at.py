"""Signatures keep when an email was last asked for again

The purge of unconfirmed signatures waits until the newest confirmation link sent for one
has expired; links are dated from this moment. Links already sent carry dates that were
never stored: pending signatures are dated from the upgrade, so none of them is purged
while a link sent for it may still work (at most CONFIRM_MAX_AGE longer than before). The
database reads its own clock, so SQL written with --sql dates them when it is run.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 23:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import campaign.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_emailed_at", campaign.models.UTCDateTime(timezone=True), nullable=True)
        )
    signatures = sa.table(
        "signatures",
        sa.column("last_emailed_at", campaign.models.UTCDateTime(timezone=True)),
        sa.column("confirmed_at", campaign.models.UTCDateTime(timezone=True)),
    )
    op.execute(
        signatures.update()
        .where(signatures.c.confirmed_at.is_(None))
        .values(last_emailed_at=_database_now())
    )


def _database_now() -> sa.ColumnElement:
    """The database's current time, as the column stores it (SQLite: UTC text)."""
    if op.get_context().dialect.name == "sqlite":
        return sa.literal_column("strftime('%Y-%m-%d %H:%M:%f', 'now')")
    return sa.func.now()


def downgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("last_emailed_at")
