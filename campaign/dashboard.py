"""What the organisers' dashboard shows: counts, signatures per day, countries, links, surges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from campaign import counting
from campaign.extensions import lowered
from campaign.models import Embassy, EmbassyCountry, Signature, SignatureStatus


@dataclass(frozen=True)
class StatusCounts:
    """Signatures of a campaign by where they stand."""

    confirmed: int
    pending: int
    invalidated: int


def status_counts(session: Session, campaign_id: int) -> StatusCounts:
    """Confirmed (the public count), pending and invalidated signatures."""
    by_status = dict(
        session.execute(
            select(Signature.status, func.count(Signature.id))
            .where(
                Signature.campaign_id == campaign_id,
                Signature.status.in_([SignatureStatus.PENDING, SignatureStatus.INVALIDATED]),
            )
            .group_by(Signature.status)
        ).all()
    )
    return StatusCounts(
        confirmed=counting.confirmed_count(session, campaign_id),
        pending=by_status.get(SignatureStatus.PENDING, 0),
        invalidated=by_status.get(SignatureStatus.INVALIDATED, 0),
    )


def _utc_day(session: Session, column: ColumnElement[datetime]) -> ColumnElement[object]:
    """The UTC calendar day of a timestamp column, on SQLite and PostgreSQL alike."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    # SQLite keeps the timestamps as UTC text.
    return func.date(column)


def confirmed_per_day(
    session: Session, campaign_id: int, days: int, today: date
) -> list[tuple[date, int]]:
    """Signatures confirmed on each of the last ``days`` days (UTC), oldest first, zeros kept."""
    first = today - timedelta(days=days - 1)
    day = _utc_day(session, Signature.confirmed_at)
    counts: dict[date, int] = {}
    for value, number in session.execute(
        select(day, func.count(Signature.id))
        .where(
            Signature.campaign_id == campaign_id,
            Signature.status == SignatureStatus.CONFIRMED,
            Signature.confirmed_at >= datetime.combine(first, datetime.min.time(), tzinfo=UTC),
        )
        .group_by(day)
    ):
        key = value if isinstance(value, date) else date.fromisoformat(str(value))
        counts[key] = number
    return [
        (first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(days)
    ]


@dataclass(frozen=True)
class CountryRow:
    """Confirmed signatures from one country and the embassy that would receive them."""

    country: str
    count: int
    embassy: Embassy | None


def by_country(session: Session, campaign_id: int) -> list[CountryRow]:
    """Confirmed signatures per signer country, most first, each with its embassy (if any)."""
    rows = session.execute(
        select(Signature.country, func.count(Signature.id))
        .where(
            Signature.campaign_id == campaign_id,
            Signature.status == SignatureStatus.CONFIRMED,
        )
        .group_by(Signature.country)
        .order_by(func.count(Signature.id).desc(), Signature.country)
    ).all()
    countries = [country for country, _ in rows]
    embassies = {
        link.country: link.embassy
        for link in session.scalars(
            select(EmbassyCountry).where(EmbassyCountry.country.in_(countries))
        )
    }
    return [CountryRow(country, number, embassies.get(country)) for country, number in rows]


@dataclass(frozen=True)
class SurgeRow:
    """Signatures from one source in the window, and whether that is above the threshold."""

    key: str
    count: int
    flagged: bool


@dataclass(frozen=True)
class Surges:
    """Confirmed and pending signatures of the last hours, by address hash and email domain."""

    hours: int
    by_address: list[SurgeRow]
    by_domain: list[SurgeRow]

    @property
    def flagged(self) -> bool:
        """Whether anything is above its threshold."""
        return any(row.flagged for row in self.by_address + self.by_domain)


def surges(
    session: Session,
    campaign_id: int,
    now: datetime,
    hours: int,
    per_address: int,
    per_domain: int,
    limit: int = 10,
    smallest_domain: int = 0,
) -> Surges:
    """The busiest address hashes and email domains of the last ``hours``, flagged at threshold.

    Domains that fewer than ``smallest_domain`` confirmed signatures of the window share
    are left out: for organisers who may not see addresses, to whom a domain of one
    person's own would tell that this person signed (see moderation.Selection). Confirmed
    ones, since anyone can add unconfirmed signatures at any domain; a surge of those alone
    shows by address hash, and to those who may see addresses.
    """
    window = (
        Signature.campaign_id == campaign_id,
        Signature.status.in_([SignatureStatus.CONFIRMED, SignatureStatus.PENDING]),
        Signature.created_at >= now - timedelta(hours=hours),
    )
    number = func.count(Signature.id)
    addresses = session.execute(
        select(Signature.client_key, number)
        .where(*window, Signature.client_key.is_not(None))
        .group_by(Signature.client_key)
        .order_by(number.desc(), Signature.client_key)
        .limit(limit)
    ).all()
    # Counted by the database: in a surge the window holds millions of rows.
    at = (
        func.instr(Signature.email, "@")
        if session.get_bind().dialect.name == "sqlite"
        else func.strpos(Signature.email, "@")
    )
    # Folded as the signatures filter folds it (moderation), in any script, so a domain's
    # count here is the one the filter's small-domain rule counts.
    domain = lowered(func.substr(Signature.email, at + 1))
    domains = session.execute(
        select(domain, number)
        .where(*window)
        .group_by(domain)
        .having(
            func.count(case((Signature.status == SignatureStatus.CONFIRMED, 1))) >= smallest_domain
        )
        .order_by(number.desc(), domain)
        .limit(limit)
    ).all()
    return Surges(
        hours=hours,
        by_address=[SurgeRow(key, n, n >= per_address) for key, n in addresses],
        by_domain=[SurgeRow(name, n, n >= per_domain) for name, n in domains],
    )
