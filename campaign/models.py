"""Typed SQLAlchemy models on one declarative base."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware, SQLite included."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base for every table of the app."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Campaign(Base):
    """A petition: its settings. Its words live in CampaignText, one row per language."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    goal: Mapped[int]
    is_default: Mapped[bool] = mapped_column(default=False)
    comments_enabled: Mapped[bool] = mapped_column(default=True)
    signing_paused: Mapped[bool] = mapped_column(default=False)
    # Its pages served for caching by the reverse proxy, as CAMPAIGN_SURGE_MODE does for
    # every campaign (campaign/surge.py); switched by its coordinators.
    surge_mode: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(Text, default="")
    # The language the source is written in (a code such as "en"), empty when not known.
    source_language: Mapped[str] = mapped_column(String(8), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Loaded when first read: taking a signature needs none of them.
    texts: Mapped[list[CampaignText]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan"
    )


class CampaignText(Base):
    """A campaign's content in one language."""

    __tablename__ = "campaign_texts"
    __table_args__ = (UniqueConstraint("campaign_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    addressed_to: Mapped[str] = mapped_column(Text, default="")
    share_text: Mapped[str] = mapped_column(Text, default="")
    background_html: Mapped[str] = mapped_column(Text, default="")
    # [{"title": ..., "text": ...}, ...] in the order the campaign presents them.
    demands: Mapped[list[Any]] = mapped_column(default=list)

    campaign: Mapped[Campaign] = relationship(back_populates="texts")


class SignatureStatus(enum.StrEnum):
    """Where a signature stands: only confirmed ones are counted, listed and exported."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    INVALIDATED = "invalidated"


class Display(enum.StrEnum):
    """How a signer's name may appear in public lists."""

    FULL = "full"
    INITIAL = "initial"
    HIDDEN = "hidden"


class CommentStatus(enum.StrEnum):
    """Moderation state of a signer's public comment."""

    NONE = "none"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Signature(Base):
    """One person's signature on one campaign."""

    __tablename__ = "signatures"
    __table_args__ = (
        # The rule "one signature per person per campaign", enforced by the database too.
        UniqueConstraint("campaign_id", "email_key"),
        Index("ix_signatures_campaign_status_confirmed", "campaign_id", "status", "confirmed_at"),
        # The campaign page's approved comments: found without walking every confirmed row.
        Index(
            "ix_signatures_campaign_comment_status",
            "campaign_id",
            "comment_status",
            "status",
            "confirmed_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    # Keyed hash of the canonical address: finds duplicates without comparing addresses.
    email_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str] = mapped_column(String(100), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    comment_status: Mapped[CommentStatus] = mapped_column(String(16), default=CommentStatus.NONE)
    display: Mapped[Display] = mapped_column(String(16), default=Display.HIDDEN)
    exclude_from_delivery: Mapped[bool] = mapped_column(default=False)
    wants_updates: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    status: Mapped[SignatureStatus] = mapped_column(String(16), default=SignatureStatus.PENDING)
    source: Mapped[str] = mapped_column(String(16), default="online")
    # Short code in the confirmation email; proves the signature was in a delivered pack.
    receipt: Mapped[str] = mapped_column(String(32), unique=True)
    emails_sent: Mapped[int] = mapped_column(default=0)
    # When an email was last asked for (None on rows confirmed before it was kept: their
    # links are dated from created_at). Confirmation links are dated from it, so the purge
    # can tell when the newest link sent has expired.
    last_emailed_at: Mapped[datetime | None]
    # Keyed hash of the client address: groups surges without storing the address.
    client_key: Mapped[str | None] = mapped_column(String(32), index=True)
    share_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("share_links.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    confirmed_at: Mapped[datetime | None]
    invalidated_at: Mapped[datetime | None]
    invalid_reason: Mapped[str] = mapped_column(Text, default="")

    campaign: Mapped[Campaign] = relationship()

    def public_name(self) -> str | None:
        """The name as the signer allowed it to appear, or None when hidden."""
        if self.display == Display.FULL:
            return self.name
        if self.display == Display.INITIAL:
            parts = self.name.split()
            if len(parts) > 1:
                return f"{parts[0]} {parts[-1][0]}."
            return parts[0] if parts else None
        return None


class ShareLink(Base):
    """A link that brings people to a campaign and is credited with their signatures."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # Secret part of the private stats page address.
    stats_key: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    # Set for a signer's personal link. No foreign key: signatures already point here.
    signature_id: Mapped[int | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignatureCount(Base):
    """A slice of a campaign's confirmed count; the count is the sum of its slices.

    Confirmations add to a random slice, so concurrent signers rarely wait on one row,
    and reading the count costs the same however many signatures there are.
    """

    __tablename__ = "signature_counts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    confirmed: Mapped[int] = mapped_column(default=0)


class RemovalCount(Base):
    """How many of a campaign's signatures are invalidated for one reason.

    Kept up to date as signatures are invalidated, restored and erased, so the campaign
    page reads a few rows rather than counting the invalidated signatures on every view.
    """

    __tablename__ = "removal_counts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    # As stored in signatures.invalid_reason.
    reason: Mapped[str] = mapped_column(Text, primary_key=True)
    removed: Mapped[int] = mapped_column(default=0)


class Embassy(Base):
    """One of Kazakhstan's embassies, from the organisers' directory."""

    __tablename__ = "embassies"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2))
    address: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    verified: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(Text, default="")

    countries: Mapped[list[EmbassyCountry]] = relationship(
        back_populates="embassy", cascade="all, delete-orphan", lazy="selectin"
    )


class EmbassyCountry(Base):
    """A country an embassy is accredited to; each country has at most one embassy."""

    __tablename__ = "embassy_countries"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    embassy_id: Mapped[int] = mapped_column(ForeignKey("embassies.id", ondelete="CASCADE"))

    embassy: Mapped[Embassy] = relationship(back_populates="countries")


class Role(enum.StrEnum):
    """What an organiser may do.

    A moderator watches and keeps campaigns clean: dashboards, signatures, comments, share
    links, the audit log. A coordinator also hands data over: lists and packs (with email
    addresses when asked for), deliveries, paper signatures. Fewer accounts that can take
    the signers' data away means less harm from one stolen password.
    """

    MODERATOR = "moderator"
    COORDINATOR = "coordinator"


class Organiser(Base):
    """A person who runs campaigns. Accounts are made from the command line only."""

    __tablename__ = "organisers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    # Base32 TOTP secret; the second factor is required before any organiser page opens.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled: Mapped[bool] = mapped_column(default=False)
    # Last TOTP time step accepted, so a code cannot be replayed.
    totp_last_step: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    role: Mapped[Role] = mapped_column(String(16), default=Role.MODERATOR)
    # Raised to end every session of this organiser (logout, reset, disable).
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who did what, when, to how many: moderation, logins, exports, deliveries."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    organiser_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisers.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    count: Mapped[int] = mapped_column(default=0)
    # Plain facts about the action; never email addresses or other personal data.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Delivery(Base):
    """A hand-over of signatures to an embassy or a trade union body."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    embassy_id: Mapped[int | None] = mapped_column(ForeignKey("embassies.id", ondelete="SET NULL"))
    # Who received it when not an embassy (e.g. the ITUC).
    recipient: Mapped[str] = mapped_column(String(200), default="")
    delivered_on: Mapped[datetime]
    method: Mapped[str] = mapped_column(String(64), default="")
    export_format: Mapped[str] = mapped_column(String(16), default="")
    row_count: Mapped[int] = mapped_column(default=0)
    # Signatures the pack counted: those listed and those whose signers asked to be left
    # out of the lists. None for a delivery recorded before it was kept (migration 0012).
    total: Mapped[int | None]
    # SHA-256 over the delivered rows, as printed in the pack's manifest.
    rows_hash: Mapped[str] = mapped_column(String(64), default="")
    # Signatures confirmed up to this moment were in the delivery.
    cutoff: Mapped[datetime | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    organiser_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisers.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # An embassy's delivery: the countries it was for, as the embassy stood that day.
    countries: Mapped[list[DeliveryCountry]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class DeliveryCountry(Base):
    """A country whose signers an embassy's delivery was for.

    Kept with the delivery, because an embassy's countries may change after it, or the
    embassy leave the directory: what the delivery counted must stay what it counted.
    """

    __tablename__ = "delivery_countries"

    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(String(2), primary_key=True)


class DeliveredSignature(Base):
    """A signature that was in a delivered pack: lets a signer check their receipt."""

    __tablename__ = "delivered_signatures"

    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), primary_key=True, index=True
    )
