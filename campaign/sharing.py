"""Share links: personal and named links, what each brought in, and the organisers' leaderboard."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign.models import Campaign, ShareLink, Signature, SignatureStatus
from campaign.signing import clean_text

LABEL_MAX = 120


def _new_link(campaign_id: int, label: str = "", signature_id: int | None = None) -> ShareLink:
    # Random codes: a link says nothing about who made it or how many links exist.
    return ShareLink(
        campaign_id=campaign_id,
        code=secrets.token_urlsafe(9),
        stats_key=secrets.token_urlsafe(32),
        label=label,
        signature_id=signature_id,
    )


def create_named(session: Session, campaign: Campaign, label: str) -> ShareLink:
    """A new link for a group or union branch, made by anyone, signed or not."""
    link = _new_link(campaign.id, label=clean_text(label)[:LABEL_MAX])
    session.add(link)
    session.flush()
    return link


def personal_link(session: Session, signature: Signature) -> ShareLink:
    """The confirmed signer's own link, made on first request and the same ever after."""
    link = session.scalar(
        select(ShareLink)
        .where(
            ShareLink.signature_id == signature.id,
            ShareLink.campaign_id == signature.campaign_id,
            # A link older than the signature belonged to an erased signature whose id
            # the database has given out again.
            ShareLink.created_at >= signature.created_at,
        )
        .order_by(ShareLink.id)
        .limit(1)
    )
    if link is None:
        link = _new_link(signature.campaign_id, signature_id=signature.id)
        session.add(link)
        session.flush()
    return link


def by_code(session: Session, code: str) -> ShareLink | None:
    """The link with this public code."""
    if not code:
        return None
    return session.scalar(select(ShareLink).where(ShareLink.code == code))


def by_stats_key(session: Session, key: str) -> ShareLink | None:
    """The link whose private stats page has this key."""
    if not key:
        return None
    link = session.scalar(select(ShareLink).where(ShareLink.stats_key == key))
    # The lookup goes through the index; the constant-time check keeps the comparison honest.
    if link is None or not secrets.compare_digest(link.stats_key, key):
        return None
    return link


@dataclass(frozen=True)
class LinkStats:
    """Confirmed signatures a link brought: in all, per day and per country. Nothing personal.

    Small numbers are held back, so that a link given to one person cannot tell whether
    that person signed: ``total`` is None while it is below ``smallest``, and a day or a
    country with fewer than ``smallest`` signatures shows only within ``other_days`` or
    ``other_countries``, which never say which days or countries they hold.
    """

    smallest: int
    total: int | None
    by_day: list[tuple[date, int]]
    other_days: int
    by_country: list[tuple[str, int]]
    other_countries: int


def stats(session: Session, link: ShareLink, smallest: int) -> LinkStats:
    """What ``link`` brought in, counting confirmed signatures only, small numbers held back."""
    rows = session.execute(
        select(Signature.country, Signature.confirmed_at).where(
            Signature.share_link_id == link.id,
            Signature.status == SignatureStatus.CONFIRMED,
        )
    ).all()
    if len(rows) < smallest:
        return LinkStats(smallest, None, [], 0, [], 0)
    # Days are grouped here rather than in SQL so both databases agree on UTC dates.
    days = Counter(_utc_day(confirmed_at) for _country, confirmed_at in rows if confirmed_at)
    countries = Counter(country for country, _confirmed_at in rows)
    by_day = sorted(((d, n) for d, n in days.items() if n >= smallest), reverse=True)
    shown = ((c, n) for c, n in countries.items() if n >= smallest)
    by_country = sorted(shown, key=lambda item: (-item[1], item[0]))
    return LinkStats(
        smallest=smallest,
        total=len(rows),
        by_day=by_day,
        other_days=len(rows) - sum(n for _day, n in by_day),
        by_country=by_country,
        other_countries=len(rows) - sum(n for _country, n in by_country),
    )


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


@dataclass(frozen=True)
class LeaderboardRow:
    """One link on the organisers' leaderboard. A personal link never names its signer."""

    link_id: int
    code: str
    label: str
    personal: bool
    signatures: int
    created_at: datetime


def leaderboard(session: Session, campaign_id: int, limit: int = 20) -> list[LeaderboardRow]:
    """The links that brought the most confirmed signatures to a campaign, best first."""
    brought = func.count(Signature.id).label("brought")
    rows = session.execute(
        select(ShareLink, brought)
        .join(Signature, Signature.share_link_id == ShareLink.id)
        .where(
            ShareLink.campaign_id == campaign_id,
            Signature.status == SignatureStatus.CONFIRMED,
        )
        .group_by(ShareLink.id)
        .order_by(brought.desc(), ShareLink.created_at, ShareLink.id)
        .limit(limit)
    ).all()
    return [
        LeaderboardRow(
            link_id=link.id,
            code=link.code,
            label=link.label,
            personal=link.signature_id is not None,
            signatures=int(count),
            created_at=link.created_at,
        )
        for link, count in rows
    ]
