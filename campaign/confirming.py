"""Double opt-in: confirmation tokens, the emails that carry them, and confirming."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import ColumnElement, Update, bindparam, case, func, update
from sqlalchemy.orm import Session

from campaign import counting, erasure, mail
from campaign.campaigns import text_for
from campaign.models import Signature, SignatureStatus, UTCDateTime, utcnow

_SALT = "confirm-signature"


def _serializer(issued_at: int | None = None) -> URLSafeTimedSerializer:
    """The tokens' serializer; with ``issued_at``, one whose tokens carry that date."""
    if issued_at is None:
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"],
        salt=_SALT,
        signer=_DatedSigner,
        signer_kwargs={"issued_at": issued_at},
    )


class _DatedSigner(TimestampSigner):
    """A timestamp signer that dates what it signs from ``issued_at``, not from the clock."""

    def __init__(self, *args: Any, issued_at: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.issued_at = issued_at

    def get_timestamp(self) -> int:
        """The date the token carries, in whole seconds since the epoch."""
        return self.issued_at


def make_token(signature: Signature) -> str:
    """A signed token naming this signature; bound to its address so ids never collide.

    It is dated from when the email carrying it was asked for (see link_date), not from
    when the email is written: a queued email may be written hours later. So the database
    knows when the newest link sent expires, and the purge waits for it.
    """
    issued_at = int(link_date(signature).timestamp())
    return _serializer(issued_at).dumps([signature.id, signature.email_key[:16]])


def link_date(signature: Signature) -> datetime:
    """When the newest confirmation link sent for ``signature`` is dated from."""
    # claim_email() stamps each email when it is asked for; created_at dates older rows'.
    return signature.last_emailed_at or signature.created_at


def newest_link_expired() -> ColumnElement[bool]:
    """SQL: true of the signatures for which no confirmation link sent can still be used."""
    # A token's date is link_date rounded down to the second, its age is counted in whole
    # seconds, and it is still accepted at exactly CONFIRM_MAX_AGE: one second more than
    # that after link_date, it has expired whatever the rounding.
    oldest_usable = utcnow() - timedelta(seconds=current_app.config["CONFIRM_MAX_AGE"] + 1)
    return func.coalesce(Signature.last_emailed_at, Signature.created_at) < oldest_usable


class TokenError(Exception):
    """A confirmation token that is malformed, forged or too old."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def signature_for_token(session: Session, token: str) -> Signature:
    """The signature a token names, or TokenError."""
    try:
        signature_id, key = _serializer().loads(
            token, max_age=current_app.config["CONFIRM_MAX_AGE"]
        )
    except SignatureExpired as error:
        raise TokenError(expired=True) from error
    except (BadSignature, ValueError, TypeError) as error:
        raise TokenError(expired=False) from error
    signature = session.get(Signature, signature_id) if isinstance(signature_id, int) else None
    if signature is None or not isinstance(key, str) or signature.email_key[:16] != key:
        raise TokenError(expired=False)
    return signature


def confirm(session: Session, signature: Signature) -> bool:
    """Confirm a pending signature and count it; True if this call confirmed it."""
    if signature.status != SignatureStatus.PENDING:
        return False
    # The database checks the status again as it writes (and holds the row until commit),
    # so confirmations racing each other or a moderator count a signature exactly once.
    changed = session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.status == SignatureStatus.PENDING)
        .values(status=SignatureStatus.CONFIRMED, confirmed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        # Since it was read: confirmed by another click or taken out by a moderator, and
        # the caller reads which from it as it stands now; or erased (withdrawn, purged),
        # and it keeps the status it was read with, which can no longer be confirmed.
        # (Refreshing a row that is gone would raise.)
        session.get(Signature, signature.id, populate_existing=True)
        return False
    session.refresh(signature)
    counting.add(session, signature.campaign_id, 1)
    session.flush()
    return True


class Kind(enum.StrEnum):
    """Which email a signature calls for."""

    CONFIRM = "confirm"
    ALREADY_SIGNED = "already_signed"


@dataclass(frozen=True)
class Notice:
    """An email owed to a signer: which signature, and whether it was asked for again.

    It names no one: the address and the links are read and written only when the email is
    composed, after the request's data is committed (by the mail worker when there is a
    queue). So the queue holds no personal data, and an erased signature gets no email.
    """

    signature_id: int
    repeated: bool


def claim_email(session: Session, signature_id: int) -> bool:
    """Count one more email to a signature, within the per-signature cap.

    False when the cap, or the signature's invalidation, stops the email. Counted and
    checked in one statement, so racing requests never pass the cap.
    """
    return _claim(session, _CLAIM_BY_ID, {"signature_id": signature_id}) is not None


def resend(session: Session, campaign_id: int, email_key: str) -> None:
    """Email again, within the cap, whoever signed the campaign with this address's key.

    A pending signature gets its confirmation link again; a confirmed one is told it was
    already counted. One statement finds and counts the email, so the database does the
    same work, and takes the same write lock, whether or not the address has signed.
    """
    signature_id = _claim(session, _CLAIM_BY_KEY, {"campaign": campaign_id, "key": email_key})
    if signature_id is not None:
        mail.queue(Notice(signature_id, repeated=True))


def _claim_statement(*which: ColumnElement[bool]) -> Update:
    """Count an email to the signature ``which`` picks, within the cap ``cap``, dated ``now``."""
    now = bindparam("now", type_=UTCDateTime())
    return (
        update(Signature)
        .where(
            *which,
            Signature.emails_sent < bindparam("cap"),
            Signature.status != SignatureStatus.INVALIDATED,
        )
        .values(
            emails_sent=Signature.emails_sent + 1,
            # The email's link is dated from now (make_token). Never moved back: a request
            # that committed late must not date a link sent before it.
            last_emailed_at=case(
                (Signature.last_emailed_at > now, Signature.last_emailed_at), else_=now
            ),
        )
        .returning(Signature.id)
    )


# Built once, like the signature's INSERT: every signature runs one of them, and a statement
# object that is reused keeps its cache key.
_CLAIM_BY_ID = _claim_statement(Signature.id == bindparam("signature_id"))
_CLAIM_BY_KEY = _claim_statement(
    # Not named after the columns: an UPDATE keeps those names for the values it sets.
    Signature.campaign_id == bindparam("campaign"),
    Signature.email_key == bindparam("key"),
)


def _claim(session: Session, statement: Update, which: dict[str, Any]) -> int | None:
    """Run a claim ``statement`` for the signature ``which`` names: its id, or None."""
    cap = current_app.config["MAX_EMAILS_PER_SIGNATURE"]
    # On the session's connection, in its transaction, without the ORM's steps around a
    # statement: no object of the session is read or changed by it.
    return session.connection().execute(statement, {**which, "cap": cap, "now": utcnow()}).scalar()


def compose(session: Session, notice: Notice) -> mail.Message | None:
    """The email ``notice`` calls for, as its signature stands now; None if it calls for none."""
    signature = session.get(Signature, notice.signature_id, populate_existing=True)
    if signature is None or signature.status == SignatureStatus.INVALIDATED:
        return None
    kind = Kind.CONFIRM if signature.status == SignatureStatus.PENDING else Kind.ALREADY_SIGNED
    return _message(signature, kind, repeated=notice.repeated)


def _message(signature: Signature, kind: str, *, repeated: bool) -> mail.Message:
    with force_locale(signature.locale):
        text = text_for(signature.campaign, signature.locale)
        context = {
            "signature": signature,
            "campaign_title": text.title,
            "repeated": repeated,
            "pending_days": current_app.config["PENDING_MAX_AGE_DAYS"],
            "confirm_url": mail.absolute(
                url_for("public.confirm", lang=signature.locale, token=make_token(signature))
            ),
            "withdraw_url": mail.absolute(
                url_for(
                    "public.withdraw", lang=signature.locale, token=erasure.make_token(signature)
                )
            ),
            "campaign_url": mail.absolute(
                url_for("public.campaign", lang=signature.locale, slug=signature.campaign.slug)
            ),
        }
        if kind == Kind.CONFIRM:
            subject = _("Please confirm your signature: %(title)s", title=text.title)
        else:
            subject = _("You have already signed: %(title)s", title=text.title)
        body = render_template(f"email/{kind}.txt", **context)
    return mail.Message(to=signature.email, subject=subject, body=body)
