"""Forgetting signers: withdrawal, erasure on request, purging and anonymising on schedule."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import (
    Engine,
    String,
    and_,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from campaign import counting
from campaign.models import (
    CommentStatus,
    DeliveredSignature,
    Delivery,
    DeliveryCountry,
    Display,
    ShareLink,
    Signature,
    SignatureStatus,
    utcnow,
)
from campaign.signing import email_key

_SALT = "withdraw-signature"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def make_token(signature: Signature) -> str:
    """A signed token that lets the owner of a signature withdraw it, for as long as it exists."""
    return _serializer().dumps([signature.id, signature.email_key[:16]])


def signature_for_token(session: Session, token: str) -> Signature | None:
    """The signature a withdrawal token names, or None."""
    try:
        signature_id, key = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(signature_id, int) or not isinstance(key, str):
        return None
    signature = session.get(Signature, signature_id)
    if signature is None or signature.email_key[:16] != key:
        return None
    return signature


def erase(session: Session, signature: Signature) -> None:
    """Delete a signature and everything that points to its owner; the count follows."""
    # Its status as it stands now, not as this request first read it; gone already if a
    # second request (or the purge) erased it first.
    for locked in counting.lock_for_change(session, [signature]):
        _erase_locked(session, locked)


def erase_by_email(session: Session, address: str) -> int:
    """Erase every signature made with this address (in any spelling); returns how many."""
    key = email_key(address)
    found = list(session.scalars(select(Signature).where(Signature.email_key == key)))
    # Every row first, then the counts: the order the purge takes its locks in, too.
    found = counting.lock_for_change(session, found)
    for signature in found:
        _erase_locked(session, signature)
    return len(found)


def erase_by_id(session: Session, signature_id: int) -> int:
    """Erase the signature with this id (one signed on paper may have no address); 1 or 0."""
    signature = session.get(Signature, signature_id)
    found = counting.lock_for_change(session, [signature] if signature else [])
    for locked in found:
        _erase_locked(session, locked)
    return len(found)


def _erase_locked(session: Session, signature: Signature) -> None:
    """Delete a signature that lock_for_change has just re-read and locked; fix the counts."""
    if signature.status == SignatureStatus.CONFIRMED:
        counting.add(session, signature.campaign_id, -1)
    elif signature.status == SignatureStatus.INVALIDATED and signature.confirmed_at is not None:
        counting.add_removed(
            session, signature.campaign_id, Counter({signature.invalid_reason: -1})
        )
    session.execute(delete(ShareLink).where(ShareLink.signature_id == signature.id))
    session.delete(signature)
    session.flush()


def purge_pending(session: Session, older_than: timedelta) -> int:
    """Delete signatures never confirmed within ``older_than``, whatever became of them.

    One is kept past that while a confirmation link sent for it can still be used: a
    signer who asked for the email again just before must not find the link dead.
    """
    from campaign import confirming  # which imports this module

    cutoff = utcnow() - older_than
    gone = session.execute(
        delete(Signature)
        .where(
            Signature.confirmed_at.is_(None),
            Signature.created_at < cutoff,
            confirming.newest_link_expired(),
        )
        .returning(Signature.id)
    ).all()
    # Never confirmed, so never counted, nor removed from the count.
    return len(gone)


def forget_client_keys(session: Session, older_than: timedelta) -> int:
    """Drop the address hash of signatures older than ``older_than``.

    It serves only to spot surges as they happen; kept longer, it would let whoever holds
    both the database and the secret key try every address until one matches.
    """
    result = session.execute(
        update(Signature)
        .where(Signature.client_key.is_not(None), Signature.created_at < utcnow() - older_than)
        .values(client_key=None)
    )
    return result.rowcount or 0


# What an anonymised signature's key starts with, followed by its id.
ANONYMISED = "anonymised:"


def anonymise_delivered(session: Session, after: timedelta) -> int:
    """Strip personal data from signatures that were in a delivery made ``after`` ago.

    The signature stays (the total and the country remain true), the person does not.
    A signer who asked to be left out of the lists is never in one: theirs goes once a
    delivery made as long ago counted them, with a cutoff after they confirmed: one to a
    body, or one to an embassy that was then accredited to their country. A signature
    taken out of the count as long ago goes too: it will be in no delivery, and was kept
    only so that a moderator could put it back. Signatures not yet delivered keep their
    data. Those with no address (paper ones) are anonymised like the others: an
    anonymised row is known by its key, not by an empty address.
    """
    long_ago = utcnow() - after
    delivered = (
        select(DeliveredSignature.signature_id)
        .join(Delivery, Delivery.id == DeliveredSignature.delivery_id)
        .where(Delivery.delivered_on < long_ago)
    )
    # An embassy's delivery counted the countries it was for (stored with it); a body's,
    # named in `recipient`, every signer.
    their_country = (
        select(DeliveryCountry.country)
        .where(
            DeliveryCountry.delivery_id == Delivery.id,
            DeliveryCountry.country == Signature.country,
        )
        .correlate(Delivery, Signature)
        .exists()
    )
    counted = exists().where(
        Delivery.campaign_id == Signature.campaign_id,
        Delivery.delivered_on < long_ago,
        func.coalesce(Delivery.cutoff, Delivery.delivered_on) >= Signature.confirmed_at,
        or_(Delivery.recipient != "", their_country),
    )
    left_out_but_counted = and_(
        Signature.exclude_from_delivery.is_(True),
        Signature.status == SignatureStatus.CONFIRMED,
        counted,
    )
    long_out = and_(
        Signature.status == SignatureStatus.INVALIDATED, Signature.invalidated_at < long_ago
    )
    result = session.execute(
        update(Signature)
        .where(
            or_(Signature.id.in_(delivered), left_out_but_counted, long_out),
            ~Signature.email_key.startswith(ANONYMISED),
        )
        .values(
            email="",
            # Unique per campaign, and no longer anyone's address.
            email_key=literal(ANONYMISED) + cast(Signature.id, String),
            name="",
            city="",
            organisation="",
            comment="",
            comment_status=CommentStatus.NONE,
            display=Display.HIDDEN,
            client_key=None,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def checkpoint(engine: Engine) -> None:
    """On SQLite, after a commit, fold the write-ahead log into the database and empty it.

    With secure_delete on, erased rows are overwritten in the database file; emptying the
    log removes the older copies of their pages.
    """
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
