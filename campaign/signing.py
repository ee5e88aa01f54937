"""Taking a signature: the rule of one signature per person per campaign lives here."""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign.extensions import insert_for
from campaign.models import Campaign, CommentStatus, Display, ShareLink, Signature
from campaign.privacy import keyed_hash

# Providers known to ignore dots in the local part, and the character that starts a tag.
_IGNORES_DOTS = {"gmail.com", "googlemail.com"}
_TAG_SEPARATOR = {
    "gmail.com": "+",
    "googlemail.com": "+",
    "outlook.com": "+",
    "hotmail.com": "+",
    "live.com": "+",
    "icloud.com": "+",
    "me.com": "+",
    "fastmail.com": "+",
    "proton.me": "+",
    "protonmail.com": "+",
    "pm.me": "+",
    "yandex.ru": "+",
    "yandex.com": "+",
    "ya.ru": "+",
    "mail.ru": "+",
    "yahoo.com": "-",
}
_SAME_MAILBOX = {"googlemail.com": "gmail.com", "ya.ru": "yandex.ru", "yandex.com": "yandex.ru"}

# Characters that change how text is shown without being part of it: controls,
# bidirectional overrides and zero-width marks.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}


def canonical_email(address: str) -> str:
    """The form of an address under which one mailbox has one spelling."""
    local, _, domain = address.strip().rpartition("@")
    local, domain = local.lower(), domain.lower().rstrip(".")
    separator = _TAG_SEPARATOR.get(domain)
    if separator and separator in local:
        local = local.split(separator, 1)[0]
    if domain in _IGNORES_DOTS:
        local = local.replace(".", "")
    domain = _SAME_MAILBOX.get(domain, domain)
    return f"{local}@{domain}"


def email_key(address: str) -> str:
    """Keyed hash of the canonical address, the identity of a signer within a campaign."""
    return keyed_hash(canonical_email(address), "email")


def clean_text(value: str | None) -> str:
    """Text with invisible and direction-changing characters removed and spaces collapsed."""
    if not value:
        return ""
    value = unicodedata.normalize("NFC", value)
    kept = "".join(" " if ch in "\t\r\n" else ch for ch in value if ch in "\t\r\n" or _visible(ch))
    return " ".join(kept.split())


def clean_multiline(value: str | None) -> str:
    """Like ``clean_text`` but keeping line breaks (for comments)."""
    if not value:
        return ""
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(clean_text(line) for line in lines).strip()


def _visible(ch: str) -> bool:
    return unicodedata.category(ch) not in _INVISIBLE


@dataclass(frozen=True)
class SignatureInput:
    """What a supporter submits, already validated by the form."""

    name: str
    email: str
    country: str
    city: str = ""
    organisation: str = ""
    comment: str = ""
    display: Display = Display.HIDDEN
    exclude_from_delivery: bool = False
    wants_updates: bool = False
    locale: str = "en"
    share_code: str = ""
    client_key: str | None = None


@dataclass(frozen=True)
class SignOutcome:
    """The signature behind a submission, and whether the submission created it."""

    signature_id: int
    created: bool


def sign(session: Session, campaign: Campaign, data: SignatureInput) -> SignOutcome:
    """Record a pending signature, or find the one this person already made.

    One statement stores it: the database's unique constraint, not an earlier look-up,
    decides between submissions with the same address, so racing ones end in one row,
    and both kinds of submission cost the same (see _insert_statement). The caller counts
    the email it owes (confirming.claim_email), for a new signature as for an old one.
    """
    key = email_key(data.email)
    comment = clean_multiline(data.comment) if campaign.comments_enabled else ""
    values = {
        "campaign_id": campaign.id,
        "email": data.email,
        "email_key": key,
        "name": clean_text(data.name),
        "country": data.country,
        "city": clean_text(data.city),
        "organisation": clean_text(data.organisation),
        "comment": comment,
        "comment_status": CommentStatus.PENDING if comment else CommentStatus.NONE,
        "display": data.display,
        "exclude_from_delivery": data.exclude_from_delivery,
        "wants_updates": data.wants_updates,
        "locale": data.locale,
        "receipt": new_receipt(),
        "emails_sent": 0,
        "client_key": data.client_key,
        "share_link_id": share_link_id(session, campaign.id, data.share_code),
    }
    # On the session's connection, in its transaction: a table's INSERT needs none of the
    # ORM's steps around a statement.
    row = session.connection().execute(_insert_statement(insert_for(session)), values).one()
    return SignOutcome(row.id, created=row.receipt == values["receipt"])


@cache
def _insert_statement(insert: Callable[..., Any]) -> Any:
    """The signature's INSERT with ``insert``, its database's construct, built once.

    The values come as parameters, so SQLAlchemy finds the compiled statement in its
    cache without walking a new one for each signer.

    With the address already signed, it rewrites a column of that row with the same value
    and returns the row: a repeated submission writes (and waits for the disk at its
    commit) as a new one does, in one statement as a new one does. Had it written nothing,
    its quicker answer would tell that the address had signed. The receipt returned tells
    the two apart: a new row has the one just drawn.
    """
    statement = insert(Signature.__table__)
    columns = Signature.__table__.c
    return statement.on_conflict_do_update(
        index_elements=["campaign_id", "email_key"],
        set_={"email_key": statement.excluded.email_key},
    ).returning(columns.id, columns.receipt)


_RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 letters: 5 bits each, no 0/O, 1/I


def new_receipt() -> str:
    """A short, unguessable receipt code, grouped for reading aloud."""
    # One draw of 60 random bits, five to a letter (drawing each letter apart asked the
    # system for randomness twelve times per signature).
    bits = secrets.randbits(60)
    raw = "".join(_RECEIPT_ALPHABET[(bits >> (5 * i)) & 31] for i in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def share_link_id(session: Session, campaign_id: int, code: str) -> int | None:
    """The id of the campaign's share link with this code; None for no link of this campaign."""
    if not code:
        return None
    return session.scalar(
        select(ShareLink.id).where(ShareLink.campaign_id == campaign_id, ShareLink.code == code)
    )
