"""campaigns signatures share links counts embassies

Revision ID: 0001
Revises:
Create Date: 2026-11-28 15:57:09.091590
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import campaign.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("goal", sa.Integer(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("comments_enabled", sa.Boolean(), nullable=False),
        sa.Column("signing_paused", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", campaign.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("slug", name=op.f("uq_campaigns_slug")),
    )
    op.create_table(
        "embassies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("website", sa.String(length=300), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embassies")),
        sa.UniqueConstraint("key", name=op.f("uq_embassies_key")),
    )
    op.create_table(
        "campaign_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("addressed_to", sa.Text(), nullable=False),
        sa.Column("share_text", sa.Text(), nullable=False),
        sa.Column("background_html", sa.Text(), nullable=False),
        sa.Column("demands", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_texts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_texts")),
        sa.UniqueConstraint("campaign_id", "locale", name=op.f("uq_campaign_texts_campaign_id")),
    )
    op.create_table(
        "embassy_countries",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("embassy_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["embassy_id"],
            ["embassies.id"],
            name=op.f("fk_embassy_countries_embassy_id_embassies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("country", name=op.f("pk_embassy_countries")),
    )
    op.create_table(
        "share_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("stats_key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("created_at", campaign.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_share_links_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_links")),
        sa.UniqueConstraint("code", name=op.f("uq_share_links_code")),
        sa.UniqueConstraint("stats_key", name=op.f("uq_share_links_stats_key")),
    )
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_links_signature_id"), ["signature_id"], unique=False
        )

    op.create_table(
        "signature_counts",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_signature_counts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "shard", name=op.f("pk_signature_counts")),
    )
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("comment_status", sa.String(length=16), nullable=False),
        sa.Column("display", sa.String(length=16), nullable=False),
        sa.Column("exclude_from_delivery", sa.Boolean(), nullable=False),
        sa.Column("wants_updates", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("receipt", sa.String(length=32), nullable=False),
        sa.Column("emails_sent", sa.Integer(), nullable=False),
        sa.Column("client_key", sa.String(length=32), nullable=True),
        sa.Column("share_link_id", sa.Integer(), nullable=True),
        sa.Column("created_at", campaign.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", campaign.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("invalidated_at", campaign.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("invalid_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_signatures_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["share_link_id"],
            ["share_links.id"],
            name=op.f("fk_signatures_share_link_id_share_links"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
        sa.UniqueConstraint("campaign_id", "email_key", name=op.f("uq_signatures_campaign_id")),
        sa.UniqueConstraint("receipt", name=op.f("uq_signatures_receipt")),
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signatures_campaign_status_confirmed",
            ["campaign_id", "status", "confirmed_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_signatures_client_key"), ["client_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_signatures_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_signatures_share_link_id"), ["share_link_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signatures_share_link_id"))
        batch_op.drop_index(batch_op.f("ix_signatures_created_at"))
        batch_op.drop_index(batch_op.f("ix_signatures_client_key"))
        batch_op.drop_index("ix_signatures_campaign_status_confirmed")

    op.drop_table("signatures")
    op.drop_table("signature_counts")
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_links_signature_id"))

    op.drop_table("share_links")
    op.drop_table("embassy_countries")
    op.drop_table("campaign_texts")
    op.drop_table("embassies")
    op.drop_table("campaigns")
