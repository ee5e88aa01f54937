"""Moderation: invalidating and restoring signatures, deciding on comments, and what is public.

Whether a signature counts changes in one function here, ``_set_invalidated``, which
keeps the campaign's confirmed count in step.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, bindparam, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from campaign import audit, counting
from campaign.extensions import lowered
from campaign.models import (
    Campaign,
    CommentStatus,
    Display,
    Organiser,
    Signature,
    SignatureStatus,
    utcnow,
)


class InvalidReason(enum.StrEnum):
    """Why a signature was taken out of the count; categories, never free text."""

    DUPLICATE = "duplicate"
    FAKE = "fake"
    SIGNER_REQUEST = "signer_request"
    ABUSIVE = "abusive"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The reason as organisers and readers see it."""
        return str(_INVALID_LABELS[self])


_INVALID_LABELS = {
    InvalidReason.DUPLICATE: _l("duplicate"),
    InvalidReason.FAKE: _l("fake or automated"),
    InvalidReason.SIGNER_REQUEST: _l("at the signer's request"),
    InvalidReason.ABUSIVE: _l("abusive"),
    InvalidReason.OTHER: _l("other reasons"),
}


def reason_label(code: str) -> str:
    """The label of a stored invalidation reason; anything unknown reads as "other"."""
    try:
        return InvalidReason(code).label
    except ValueError:
        return InvalidReason.OTHER.label


class RestoreReason(enum.StrEnum):
    """Why an invalidated signature was put back."""

    MISTAKE = "mistake"
    VERIFIED = "verified"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The reason as organisers see it."""
        return str(_RESTORE_LABELS[self])


_RESTORE_LABELS = {
    RestoreReason.MISTAKE: _l("invalidated by mistake"),
    RestoreReason.VERIFIED: _l("checked and genuine"),
    RestoreReason.OTHER: _l("other reasons"),
}


class BulkRefused(Exception):
    """A bulk action without any condition, which would touch every signature."""


@dataclass(frozen=True)
class Selection:
    """Which signatures of a campaign an organiser looks at or acts on."""

    domain: str = ""
    client_key: str = ""
    since: datetime | None = None
    until: datetime | None = None
    status: str = ""
    search: str = ""
    # Whether ``search`` also matches email addresses: only for those who may see them.
    # Otherwise a search would tell whether an address signed, and substrings of it
    # would spell the address out, though the listing never shows it.
    search_emails: bool = False
    # When above 0, ``domain`` matches only a domain that at least this many of the
    # campaign's confirmed signatures share. An organiser who may not see addresses sees
    # domains, to spot surges; a domain of one person's own would tell that this person
    # signed. Confirmed ones only: anyone can add unconfirmed signatures at any domain.
    domain_smallest: int = 0

    def has_condition(self) -> bool:
        """Whether a bulk action on this selection is narrowed by anything."""
        return bool(self.domain or self.client_key or self.since or self.until)

    def query(self, campaign_id: int) -> Select[tuple[Signature]]:
        """The signatures of ``campaign_id`` this selection matches."""
        query = select(Signature).where(Signature.campaign_id == campaign_id)
        if self.domain:
            query = query.where(_at_domain(self.domain))
            if self.domain_smallest:
                shared = select(func.count(Signature.id)).where(
                    *_confirmed_at_domain(campaign_id, self.domain)
                )
                query = query.where(shared.scalar_subquery() >= self.domain_smallest)
        if self.client_key:
            query = query.where(Signature.client_key.startswith(self.client_key, autoescape=True))
        if self.since is not None:
            query = query.where(Signature.created_at >= self.since)
        if self.until is not None:
            query = query.where(Signature.created_at < self.until)
        if self.status:
            query = query.where(Signature.status == self.status)
        if self.search:
            query = query.where(or_(*self._search_conditions()))
        return query

    def _search_conditions(self) -> list[ColumnElement[bool]]:
        """The conditions of ``search``: name or receipt, and email only when allowed."""
        term = self.search.lower()
        columns = [Signature.name, Signature.receipt]
        if self.search_emails:
            columns.append(Signature.email)
        return [lowered(column).contains(term, autoescape=True) for column in columns]


def domain_of(address: str) -> str:
    """The domain of an email address: what follows its last @."""
    return address.rpartition("@")[2]


def _at_domain(domain: str) -> ColumnElement[bool]:
    return lowered(Signature.email).endswith("@" + domain.lower(), autoescape=True)


def _confirmed_at_domain(campaign_id: int, domain: str) -> tuple[ColumnElement[bool], ...]:
    """The campaign's confirmed signatures at ``domain``: those that make a domain shared.

    Confirmed ones only: whoever wanted a person's own domain shown could otherwise add
    unconfirmed signatures at it, with no mailbox there, until enough shared it. Those
    invalidated since still count: they were confirmed from a mailbox there, and a moderator
    who has taken a domain's signatures out must find them again to restore them.
    """
    return (
        Signature.campaign_id == campaign_id,
        Signature.confirmed_at.is_not(None),
        _at_domain(domain),
    )


def shared_domains(
    session: Session, campaign_id: int, signatures: Iterable[Signature], smallest: int
) -> frozenset[str]:
    """The email domains of ``signatures`` that ``smallest`` confirmed signatures share."""
    domains = {domain_of(signature.email).lower() for signature in signatures}
    if not domains:
        return frozenset()
    counts = union_all(
        *(
            select(literal(domain).label("domain"), func.count(Signature.id).label("n")).where(
                *_confirmed_at_domain(campaign_id, domain)
            )
            for domain in sorted(domains)
        )
    ).subquery()
    rows = session.execute(select(counts.c.domain, counts.c.n)).all()
    return frozenset(domain for domain, n in rows if n >= smallest)


@dataclass(frozen=True)
class SignaturePage:
    """One page of matching signatures, newest first, and how many match in all."""

    signatures: list[Signature]
    total: int
    page: int
    per_page: int
    # The domains on this page that may be shown; None: all (to those who see addresses).
    shown_domains: frozenset[str] | None = None

    def domain_of(self, signature: Signature) -> str | None:
        """The email domain of ``signature`` as the listing may show it, or None."""
        domain = domain_of(signature.email)
        if self.shown_domains is None or domain.lower() in self.shown_domains:
            return domain
        return None

    @property
    def pages(self) -> int:
        """How many pages the matches fill."""
        return counting.page_count(self.total, self.per_page)


def listing(
    session: Session, campaign_id: int, selection: Selection, page: int = 1, per_page: int = 50
) -> SignaturePage:
    """A page of the signatures ``selection`` matches.

    With ``selection.domain_smallest``, only the domains that many confirmed signatures
    share are shown (see Selection).
    """
    query = selection.query(campaign_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # A page past the end (an old link, fewer matches since) shows the last one.
    page = min(max(1, page), counting.page_count(total, per_page))
    rows = list(
        session.scalars(
            query.order_by(Signature.created_at.desc(), Signature.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    shown = None
    if selection.domain_smallest:
        shown = shared_domains(session, campaign_id, rows, selection.domain_smallest)
    return SignaturePage(rows, total, page, per_page, shown)


def _set_invalidated(
    session: Session,
    campaign_id: int,
    signatures: Iterable[Signature],
    reason: InvalidReason | None,
) -> int:
    """Invalidate (with a reason) or restore (reason None) signatures; keep the count exact.

    Returns how many changed. A confirmed signature leaves the count when invalidated and
    comes back into it when restored, and the removals line (removal_counts) counts it
    meanwhile; a pending one was never in the count, so it was never removed from it.
    """
    signatures = counting.lock_for_change(session, signatures)
    changed = delta = 0
    removed: Counter[str] = Counter()
    now = utcnow()
    for signature in signatures:
        if signature.campaign_id != campaign_id:
            raise ValueError("signature of another campaign")
        if reason is not None and signature.status != SignatureStatus.INVALIDATED:
            if signature.status == SignatureStatus.CONFIRMED:
                delta -= 1
                removed[reason.value] += 1
            signature.status = SignatureStatus.INVALIDATED
            signature.invalidated_at = now
            signature.invalid_reason = reason.value
            changed += 1
        elif reason is None and signature.status == SignatureStatus.INVALIDATED:
            if signature.confirmed_at is not None:
                signature.status = SignatureStatus.CONFIRMED
                delta += 1
                removed[signature.invalid_reason] -= 1
            else:
                signature.status = SignatureStatus.PENDING
            signature.invalidated_at = None
            signature.invalid_reason = ""
            changed += 1
    if delta:
        counting.add(session, campaign_id, delta)
    counting.add_removed(session, campaign_id, removed)
    session.flush()
    return changed


def invalidate(
    session: Session, organiser: Organiser, signature: Signature, reason: InvalidReason
) -> bool:
    """Take one signature out of the count, list and exports; True if it changed."""
    changed = _set_invalidated(session, signature.campaign_id, [signature], reason)
    if changed:
        audit.record(
            session,
            audit.SIGNATURES_INVALIDATED,
            organiser,
            signature.campaign_id,
            changed,
            reason=reason.value,
            signature=signature.id,
        )
    return bool(changed)


def restore(
    session: Session, organiser: Organiser, signature: Signature, reason: RestoreReason
) -> bool:
    """Put one invalidated signature back where it stood; True if it changed."""
    changed = _set_invalidated(session, signature.campaign_id, [signature], None)
    if changed:
        audit.record(
            session,
            audit.SIGNATURES_RESTORED,
            organiser,
            signature.campaign_id,
            changed,
            reason=reason.value,
            signature=signature.id,
        )
    return bool(changed)


def _bulk_detail(selection: Selection) -> dict[str, str]:
    """The conditions of a bulk action as they go into the audit log (no addresses)."""
    detail = {"scope": "bulk"}
    if selection.domain:
        detail["domain"] = selection.domain
    if selection.client_key:
        detail["address_hash"] = selection.client_key
    if selection.since is not None:
        detail["since"] = selection.since.isoformat()
    if selection.until is not None:
        detail["until"] = selection.until.isoformat()
    if selection.search:
        detail["search"] = "yes"
    return detail


def invalidate_matching(
    session: Session,
    organiser: Organiser,
    campaign_id: int,
    selection: Selection,
    reason: InvalidReason,
) -> int:
    """Invalidate every counted or pending signature the selection matches."""
    if not selection.has_condition():
        raise BulkRefused
    query = selection.query(campaign_id).where(Signature.status != SignatureStatus.INVALIDATED)
    changed = _set_invalidated(session, campaign_id, session.scalars(query).all(), reason)
    audit.record(
        session,
        audit.SIGNATURES_INVALIDATED,
        organiser,
        campaign_id,
        changed,
        reason=reason.value,
        **_bulk_detail(selection),
    )
    return changed


def restore_matching(
    session: Session,
    organiser: Organiser,
    campaign_id: int,
    selection: Selection,
    reason: RestoreReason,
) -> int:
    """Restore every invalidated signature the selection matches."""
    if not selection.has_condition():
        raise BulkRefused
    query = selection.query(campaign_id).where(Signature.status == SignatureStatus.INVALIDATED)
    changed = _set_invalidated(session, campaign_id, session.scalars(query).all(), None)
    audit.record(
        session,
        audit.SIGNATURES_RESTORED,
        organiser,
        campaign_id,
        changed,
        reason=reason.value,
        **_bulk_detail(selection),
    )
    return changed


def comments_awaiting(session: Session, campaign_id: int, limit: int = 100) -> list[Signature]:
    """Signatures whose comment waits for a decision, oldest first; invalidated ones left out."""
    return list(
        session.scalars(
            select(Signature)
            .where(
                Signature.campaign_id == campaign_id,
                Signature.comment_status == CommentStatus.PENDING,
                Signature.status != SignatureStatus.INVALIDATED,
            )
            .order_by(Signature.created_at, Signature.id)
            .limit(limit)
        )
    )


def count_comments_awaiting(session: Session, campaign_id: int) -> int:
    """How many comments wait for a decision."""
    return (
        session.scalar(
            select(func.count(Signature.id)).where(
                Signature.campaign_id == campaign_id,
                Signature.comment_status == CommentStatus.PENDING,
                Signature.status != SignatureStatus.INVALIDATED,
            )
        )
        or 0
    )


def decide_comment(
    session: Session, organiser: Organiser, signature: Signature, approve: bool
) -> bool:
    """Approve or reject a signer's comment; True if the decision changed something."""
    if not signature.comment:
        return False
    status = CommentStatus.APPROVED if approve else CommentStatus.REJECTED
    if signature.comment_status == status:
        return False
    signature.comment_status = status
    audit.record(
        session,
        audit.COMMENT_APPROVED if approve else audit.COMMENT_REJECTED,
        organiser,
        signature.campaign_id,
        1,
        signature=signature.id,
    )
    session.flush()
    return True


@dataclass(frozen=True)
class PublicComment:
    """An approved comment as the campaign page shows it: the name only if allowed."""

    name: str | None
    city: str
    text: str


# Read by every view of the campaign page: built once (see campaigns.by_slug).
_APPROVED_COMMENTS = (
    select(Signature)
    .where(
        Signature.campaign_id == bindparam("campaign_id"),
        Signature.status == SignatureStatus.CONFIRMED,
        Signature.comment_status == CommentStatus.APPROVED,
    )
    .order_by(Signature.confirmed_at.desc(), Signature.id.desc())
    .limit(bindparam("limit"))
)


def approved_comments(session: Session, campaign: Campaign, limit: int = 20) -> list[PublicComment]:
    """The latest approved comments of confirmed signers, when the campaign shows comments."""
    if not campaign.comments_enabled:
        return []
    rows = session.scalars(_APPROVED_COMMENTS, {"campaign_id": campaign.id, "limit": limit})
    return [
        PublicComment(
            name=row.public_name(),
            city=row.city if row.display != Display.HIDDEN else "",
            text=row.comment,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Removals:
    """How many signatures were taken out, by reason category: the public transparency line."""

    total: int
    by_reason: list[tuple[InvalidReason, int]]


def removals(session: Session, campaign_id: int) -> Removals:
    """Invalidated signatures of a campaign counted by reason; nothing about who."""
    counts: dict[InvalidReason, int] = {}
    for reason, number in counting.removed_by_reason(session, campaign_id):
        try:
            category = InvalidReason(reason)
        except ValueError:
            category = InvalidReason.OTHER
        counts[category] = counts.get(category, 0) + number
    ordered = [(reason, counts[reason]) for reason in InvalidReason if counts.get(reason)]
    return Removals(sum(counts.values()), ordered)
