"""Each embassy delivery keeps the countries it was for

Anonymisation asks which deliveries counted a signer who was left out of the lists; it
read the embassy's countries as they are now. Deliveries made before keep the countries
their embassy has now, the best that is known of them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 23:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_countries",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_countries_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("delivery_id", "country", name=op.f("pk_delivery_countries")),
    )
    op.execute(
        "INSERT INTO delivery_countries (delivery_id, country) "
        "SELECT deliveries.id, embassy_countries.country FROM deliveries "
        "JOIN embassy_countries ON embassy_countries.embassy_id = deliveries.embassy_id"
    )


def downgrade() -> None:
    op.drop_table("delivery_countries")
