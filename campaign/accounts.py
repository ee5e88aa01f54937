"""Organiser accounts: passwords, the second factor (TOTP), and ending sessions."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from campaign import audit
from campaign.models import Organiser, Role, utcnow

# Werkzeug's scrypt with its default cost; the method is kept in each hash, so a later
# change of cost leaves existing hashes readable.
_HASH_METHOD = "scrypt"
# Codes from one step before or after the server's clock are accepted (phone clock drift).
_DRIFT_STEPS = 1


class AccountError(Exception):
    """A request about an account that cannot be carried out, with the reason why."""


def normalise_email(address: str) -> str:
    """The spelling under which an organiser's address is stored and looked up."""
    return address.strip().lower()


def check_password(password: str, min_length: int) -> None:
    """Refuse a password shorter than ``min_length`` characters, before any hashing."""
    if len(password) < min_length:
        raise AccountError(f"The password must be at least {min_length} characters long.")


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``."""
    return generate_password_hash(password, method=_HASH_METHOD)


@functools.cache
def _stand_in_hash() -> str:
    # Checked against when no account matches, so that an unknown address costs the
    # same hashing work as a known one and timing does not tell them apart.
    return hash_password(secrets.token_urlsafe(24))


def by_email(session: Session, address: str) -> Organiser | None:
    """The organiser with this address, if any."""
    return session.scalar(
        select(Organiser).where(func.lower(Organiser.email) == normalise_email(address))
    )


def create(
    session: Session,
    address: str,
    password: str,
    *,
    min_length: int,
    name: str = "",
    role: Role = Role.MODERATOR,
) -> Organiser:
    """A new, active organiser who will enrol a second factor at first sign-in."""
    check_password(password, min_length)
    address = normalise_email(address)
    if "@" not in address:
        raise AccountError("That is not an email address.")
    if by_email(session, address) is not None:
        raise AccountError("An organiser with that address exists already.")
    organiser = Organiser(
        email=address, name=name.strip(), password_hash=hash_password(password), role=role
    )
    session.add(organiser)
    session.flush()
    audit.record(session, audit.ACCOUNT_CREATED, organiser, via="command line", role=role.value)
    return organiser


def set_role(session: Session, address: str, role: Role) -> Organiser:
    """Give an organiser another role; their sessions end, so the new one holds at once."""
    organiser = _existing(session, address)
    if organiser.role != role:
        organiser.role = role
        end_sessions(organiser)
        audit.record(session, audit.ROLE_CHANGED, organiser, via="command line", role=role.value)
        session.flush()
    return organiser


def _existing(session: Session, address: str) -> Organiser:
    organiser = by_email(session, address)
    if organiser is None:
        raise AccountError("No organiser has that address.")
    return organiser


def end_sessions(organiser: Organiser) -> None:
    """End every session of this organiser, on every device."""
    organiser.session_version += 1


def disable(session: Session, address: str) -> Organiser:
    """Stop an organiser from signing in and end their sessions."""
    organiser = _existing(session, address)
    organiser.active = False
    end_sessions(organiser)
    audit.record(session, audit.ACCOUNT_DISABLED, organiser, via="command line")
    session.flush()
    return organiser


def enable(session: Session, address: str) -> Organiser:
    """Let a disabled organiser sign in again."""
    organiser = _existing(session, address)
    organiser.active = True
    audit.record(session, audit.ACCOUNT_ENABLED, organiser, via="command line")
    session.flush()
    return organiser


def reset_password(
    session: Session,
    address: str,
    password: str,
    *,
    min_length: int,
    second_factor: bool = False,
) -> Organiser:
    """Set a new password and end every session; optionally make them enrol a new device."""
    check_password(password, min_length)
    organiser = _existing(session, address)
    organiser.password_hash = hash_password(password)
    if second_factor:
        organiser.totp_secret = None
        organiser.totp_enrolled = False
        organiser.totp_last_step = 0
    end_sessions(organiser)
    audit.record(
        session,
        audit.PASSWORD_RESET,
        organiser,
        via="command line",
        second_factor_reset=second_factor,
    )
    session.flush()
    return organiser


def every(session: Session) -> list[Organiser]:
    """All organiser accounts, by address."""
    return list(session.scalars(select(Organiser).order_by(Organiser.email)))


@dataclass(frozen=True)
class PasswordCheck:
    """The result of a password check: who typed it (if anyone known) and whether it held."""

    organiser: Organiser | None
    ok: bool


def check_login(session: Session, address: str, password: str) -> PasswordCheck:
    """Check an address and password, doing the same work whether the account exists or not.

    A failure is written to the audit log: with the account when it exists, and with no
    trace of the typed address when it does not.
    """
    organiser = by_email(session, address)
    if organiser is None:
        check_password_hash(_stand_in_hash(), password)
        audit.record(session, audit.LOGIN_FAILED, None, reason="unknown account")
        return PasswordCheck(None, ok=False)
    ok = check_password_hash(organiser.password_hash, password)
    if ok and organiser.active:
        return PasswordCheck(organiser, ok=True)
    reason = "password" if not ok else "account disabled"
    audit.record(session, audit.LOGIN_FAILED, organiser, reason=reason)
    return PasswordCheck(organiser, ok=False)


def begin_enrolment(session: Session, organiser: Organiser) -> str:
    """The TOTP secret the organiser is to enrol, created on first use."""
    if organiser.totp_enrolled:
        raise AccountError("A second factor is enrolled already.")
    if not organiser.totp_secret:
        organiser.totp_secret = pyotp.random_base32()
        session.flush()
    return organiser.totp_secret


def provisioning_uri(organiser: Organiser, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(organiser.totp_secret or "").provisioning_uri(
        name=organiser.email, issuer_name=issuer
    )


def verify_code(
    session: Session, organiser: Organiser, code: str, now: datetime | None = None
) -> bool:
    """Accept a TOTP code once: a code, or any older one, is never accepted again."""
    code = "".join((code or "").split())
    if not organiser.totp_secret or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(organiser.totp_secret)
    current = totp.timecode(now or utcnow())
    for step in range(current - _DRIFT_STEPS, current + _DRIFT_STEPS + 1):
        if not secrets.compare_digest(totp.generate_otp(step), code):
            continue
        # A conditional update, so two requests racing with one code cannot both win.
        claimed = session.execute(
            update(Organiser)
            .where(Organiser.id == organiser.id, Organiser.totp_last_step < step)
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            organiser.totp_last_step = step
            session.flush()
            return True
        return False
    return False


def complete_enrolment(session: Session, organiser: Organiser, code: str) -> bool:
    """Mark the second factor enrolled once the organiser proves it with a code."""
    if organiser.totp_enrolled or not verify_code(session, organiser, code):
        return False
    organiser.totp_enrolled = True
    audit.record(session, audit.SECOND_FACTOR_ENROLLED, organiser)
    session.flush()
    return True


def second_factor_failed(session: Session, organiser: Organiser) -> None:
    """Note a wrong or replayed code."""
    audit.record(session, audit.LOGIN_FAILED, organiser, reason="second factor")


def signed_in(session: Session, organiser: Organiser) -> None:
    """Note a completed sign-in (password and code)."""
    organiser.last_login_at = utcnow()
    audit.record(session, audit.LOGIN, organiser)
    session.flush()


def signed_out(session: Session, organiser: Organiser) -> None:
    """End every session of the organiser who signs out, and note it."""
    end_sessions(organiser)
    audit.record(session, audit.LOGOUT, organiser)
    session.flush()
