"""The audit log: who did what, when, to how many; and reading it back, filtered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from campaign import counting
from campaign.models import AuditEntry, Organiser

# Every action the log holds, written by this module's callers.
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
SECOND_FACTOR_ENROLLED = "second_factor_enrolled"
ACCOUNT_CREATED = "account_created"
ACCOUNT_DISABLED = "account_disabled"
ACCOUNT_ENABLED = "account_enabled"
PASSWORD_RESET = "password_reset"  # noqa: S105 (an action name)
ROLE_CHANGED = "role_changed"
SIGNATURES_INVALIDATED = "signatures_invalidated"
SIGNATURES_RESTORED = "signatures_restored"
COMMENT_APPROVED = "comment_approved"
COMMENT_REJECTED = "comment_rejected"
SIGNING_PAUSED = "signing_paused"
SIGNING_RESUMED = "signing_resumed"
SURGE_MODE_ON = "surge_mode_on"
SURGE_MODE_OFF = "surge_mode_off"
SIGNATURES_EXPORTED = "signatures_exported"
PACK_EXPORTED = "pack_exported"
DELIVERY_RECORDED = "delivery_recorded"
PAPER_IMPORTED = "paper_imported"

# What organisers read for each action.
_LABELS = {
    LOGIN: _l("Signed in"),
    LOGIN_FAILED: _l("Sign-in failed"),
    LOGOUT: _l("Signed out"),
    SECOND_FACTOR_ENROLLED: _l("Second factor set up"),
    ACCOUNT_CREATED: _l("Account created"),
    ACCOUNT_DISABLED: _l("Account disabled"),
    ACCOUNT_ENABLED: _l("Account enabled"),
    PASSWORD_RESET: _l("Password reset"),
    ROLE_CHANGED: _l("Role changed"),
    SIGNATURES_INVALIDATED: _l("Signatures invalidated"),
    SIGNATURES_RESTORED: _l("Signatures restored"),
    COMMENT_APPROVED: _l("Comment approved"),
    COMMENT_REJECTED: _l("Comment rejected"),
    SIGNING_PAUSED: _l("Signing paused"),
    SIGNING_RESUMED: _l("Signing resumed"),
    SURGE_MODE_ON: _l("Surge mode switched on"),
    SURGE_MODE_OFF: _l("Surge mode switched off"),
    SIGNATURES_EXPORTED: _l("List exported"),
    PACK_EXPORTED: _l("Delivery pack exported"),
    DELIVERY_RECORDED: _l("Delivery recorded"),
    PAPER_IMPORTED: _l("Paper signatures imported"),
}


def label(action: str) -> str:
    """The action in the reader's language; an action without a label as it is stored."""
    return str(_LABELS.get(action, action))


# What organisers read for each kind of detail an entry may hold.
_DETAIL_LABELS = {
    "address_hash": _l("address code"),
    "body": _l("body"),
    "country": _l("country"),
    "cutoff": _l("cutoff"),
    "delivery_id": _l("delivery"),
    "domain": _l("email domain"),
    "duplicates": _l("duplicates"),
    "embassy": _l("embassy"),
    "excel": _l("for Excel"),
    "for_delivery": _l("to hand over"),
    "format": _l("format"),
    "language": _l("language"),
    "new_only": _l("new since the last delivery"),
    "packs": _l("packs"),
    "reason": _l("reason"),
    "recipient": _l("recipient"),
    "rejected": _l("rejected"),
    "role": _l("role"),
    "rows": _l("rows"),
    "rows_hash": _l("rows hash"),
    "scope": _l("scope"),
    "search": _l("search"),
    "second_factor_reset": _l("second factor reset"),
    "signature": _l("signature"),
    "since": _l("from"),
    "until": _l("until"),
    "via": _l("through"),
    "with_emails": _l("with email addresses"),
}
# Values that are words of the app's own (never what an organiser typed), by detail.
_DETAIL_VALUES = {
    "scope": {"bulk": _l("all that matched")},
    "via": {"web": _l("the website"), "command line": _l("the command line")},
    "recipient": {"every embassy": _l("every embassy")},
    "role": {"coordinator": _l("coordinator"), "moderator": _l("moderator")},
}


def detail_items(detail: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An entry's details as (what, value) in the reader's language; empty ones left out."""
    from campaign import countries, languages, moderation  # moderation writes to this log

    reasons = {r.value: r.label for r in (*moderation.InvalidReason, *moderation.RestoreReason)}
    items = []
    for key, value in sorted(detail.items()):
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            shown = str(_l("yes") if value else _l("no"))
        elif key == "reason" and value in reasons:
            shown = reasons[value]
        elif key == "language" and isinstance(value, str):
            shown = languages.name(value)
        elif key == "country" and isinstance(value, str) and len(value) == 2:
            shown = countries.name(value, languages.current())
        else:
            shown = str(_DETAIL_VALUES.get(key, {}).get(value, value))
        items.append((str(_DETAIL_LABELS.get(key, key)), shown))
    return items


def record(
    session: Session,
    action: str,
    organiser: Organiser | None,
    campaign_id: int | None = None,
    count: int = 0,
    **detail: Any,
) -> AuditEntry:
    """Add an entry to the audit log (flushed, not committed) and return it.

    ``detail`` holds plain facts (a format, a reason category, a date); an email address
    there is refused, because the log is read by every organiser and kept for long.
    """
    for key, value in detail.items():
        if isinstance(value, str) and "@" in value:
            raise ValueError(f"audit detail {key!r} looks like an email address")
    entry = AuditEntry(
        action=action,
        organiser_id=organiser.id if organiser is not None else None,
        campaign_id=campaign_id,
        count=count,
        detail=dict(detail),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """What an organiser narrows the log to; every part is optional."""

    action: str = ""
    organiser_id: int | None = None
    campaign_id: int | None = None
    since: date | None = None
    until: date | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        """``query`` narrowed to the entries this filter keeps."""
        if self.action:
            query = query.where(AuditEntry.action == self.action)
        if self.organiser_id is not None:
            query = query.where(AuditEntry.organiser_id == self.organiser_id)
        if self.campaign_id is not None:
            query = query.where(AuditEntry.campaign_id == self.campaign_id)
        if self.since is not None:
            query = query.where(AuditEntry.at >= _start_of(self.since))
        if self.until is not None:
            query = query.where(AuditEntry.at < _start_of(self.until + timedelta(days=1)))
        return query


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class AuditPage:
    """One page of the filtered log, newest first."""

    entries: list[AuditEntry]
    organisers: Mapping[int, Organiser]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the filtered log fills."""
        return counting.page_count(self.total, self.per_page)


def entries(session: Session, what: AuditFilter, page: int = 1, per_page: int = 50) -> AuditPage:
    """The entries ``what`` keeps, one page of them, with the organisers they name."""
    total = session.scalar(what.apply(select(func.count(AuditEntry.id)))) or 0
    # A page past the end (an old link, a narrower filter) shows the last one.
    page = min(max(1, page), counting.page_count(total, per_page))
    rows = list(
        session.scalars(
            what.apply(select(AuditEntry))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    ids = {row.organiser_id for row in rows if row.organiser_id is not None}
    people = (
        {o.id: o for o in session.scalars(select(Organiser).where(Organiser.id.in_(ids)))}
        if ids
        else {}
    )
    return AuditPage(rows, people, total, page, per_page)


def actions(session: Session) -> list[str]:
    """Every action name the log holds, for the filter's choices."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
