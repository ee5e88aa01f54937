"""Deliveries: what was handed to which embassy or body, what still waits, and receipts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import sleep
from typing import Any

from sqlalchemy import case, func, insert, or_, select
from sqlalchemy.orm import Session

from campaign import audit, exports
from campaign.embassies import name_in
from campaign.models import (
    Campaign,
    DeliveredSignature,
    Delivery,
    DeliveryCountry,
    Embassy,
    EmbassyCountry,
    Organiser,
    Signature,
    SignatureStatus,
    utcnow,
)

# What a recipient can be handed; the pack (pdf) is the usual one.
FORMATS = ("pdf", "csv", "xlsx", "paper")


@dataclass(frozen=True)
class Recipient:
    """An embassy from the directory, or a named body such as the ITUC."""

    embassy: Embassy | None = None
    body: str = ""

    def __post_init__(self) -> None:
        if (self.embassy is None) == (not self.body.strip()):
            raise ValueError("a recipient is an embassy or a named body, not both")

    @property
    def label(self) -> str:
        """How the recipient is named on pages and in packs."""
        return self.embassy.name if self.embassy is not None else self.body


def embassy_by_key(session: Session, key: str) -> Embassy | None:
    """The embassy with this directory key."""
    return session.scalar(select(Embassy).where(Embassy.key == key))


def embassies(session: Session) -> list[Embassy]:
    """Every embassy of the directory, by name."""
    return list(session.scalars(select(Embassy).order_by(Embassy.name)))


def recipient_of(session: Session, delivery: Delivery) -> Recipient:
    """The recipient a recorded delivery went to."""
    if delivery.embassy_id is not None:
        embassy = session.get(Embassy, delivery.embassy_id)
        if embassy is not None:
            return Recipient(embassy=embassy)
    return Recipient(body=delivery.recipient or "?")


def last_delivery(session: Session, campaign_id: int, recipient: Recipient) -> Delivery | None:
    """The recorded delivery to ``recipient`` with the latest cutoff."""
    query = select(Delivery).where(Delivery.campaign_id == campaign_id)
    if recipient.embassy is not None:
        query = query.where(Delivery.embassy_id == recipient.embassy.id)
    else:
        query = query.where(Delivery.embassy_id.is_(None), Delivery.recipient == recipient.body)
    return session.scalar(
        query.order_by(Delivery.cutoff.desc().nulls_last(), Delivery.id.desc()).limit(1)
    )


def selection_for(
    session: Session,
    campaign_id: int,
    recipient: Recipient,
    *,
    new_only: bool = False,
    until: datetime | None = None,
    since: datetime | None = None,
) -> exports.Selection:
    """The signatures a list for ``recipient`` holds.

    An embassy gets the signers of the countries it is accredited to, a body every signer;
    neither gets those who asked to be left out of the lists handed over. ``new_only`` keeps
    what was confirmed after the cutoff of the last delivery to the same recipient, and
    whatever listable signature that recipient was never handed.
    """
    after = None
    key = (recipient.embassy.id, "") if recipient.embassy is not None else (None, recipient.body)
    if new_only:
        previous = last_delivery(session, campaign_id, recipient)
        after = previous.cutoff if previous is not None else None
    scope = {"since": since, "after": after, "until": until, "undelivered_to": key}
    if recipient.embassy is not None:
        codes = tuple(sorted(c.country for c in recipient.embassy.countries))
        return exports.Selection(campaign_id, countries=codes, omit_excluded=True, **scope)
    # A body is named in free text and may be anyone: it honours the opt-out as an embassy does.
    return exports.Selection(campaign_id, omit_excluded=True, **scope)


def cutoff_now() -> datetime:
    """The cutoff of a pack made now: the present, rounded up to a whole second."""
    now = utcnow()
    # Rounded up, so what was confirmed a moment ago is in; whole seconds, so the
    # cutoff printed in the manifest can be typed back exactly.
    return now.replace(microsecond=0) + timedelta(seconds=1 if now.microsecond else 0)


# A confirmation is stamped when its request writes it and seen once that commits: a pack
# reads its rows this long after its cutoff has passed, so that what was stamped up to it
# has been committed.
SETTLE = timedelta(milliseconds=500)


def wait_until_past(cutoff: datetime) -> None:
    """Return once ``cutoff`` (and SETTLE) has passed: then read the rows up to it.

    A pack's cutoff is the end of the second it is made in. Read before that second is over,
    it would miss what is confirmed in the rest of it, which a delivery recorded with the
    printed cutoff would count as handed over all the same.
    """
    remaining = (cutoff + SETTLE - utcnow()).total_seconds()
    if remaining > 0:
        sleep(remaining)


CUTOFF_FORMAT = "%Y-%m-%d %H:%M:%S"


# How a cutoff may be typed: as a manifest prints it, without seconds, or as a list's file
# name carries it ("cutoff-2026-06-01-143000").
_CUTOFF_SPELLINGS = (CUTOFF_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d-%H%M%S")


def parse_cutoff(value: str | None) -> datetime | None:
    """A cutoff typed as printed in a manifest or a list's file name (UTC), or None."""
    text = (value or "").strip().removesuffix("UTC").strip().removeprefix("cutoff-")
    for spelling in _CUTOFF_SPELLINGS:
        try:
            return datetime.strptime(text.replace("T", " "), spelling).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


class HashMismatch(ValueError):
    """The rows no longer hash to what the delivered pack's manifest says."""

    def __init__(self, expected: str, found: str, count: int) -> None:
        super().__init__("rows hash differs from the manifest")
        self.expected = expected
        self.found = found
        self.count = count


@dataclass(frozen=True)
class DeliveryInput:
    """What an organiser tells about a hand-over."""

    recipient: Recipient
    delivered_on: date
    cutoff: datetime
    new_only: bool = False
    method: str = ""
    export_format: str = "pdf"
    notes: str = ""
    # The hash printed in the pack's manifest; when given, the rows must still match it.
    expected_hash: str = ""


def record(
    session: Session, campaign: Campaign, data: DeliveryInput, organiser: Organiser | None
) -> Delivery:
    """Record a delivery: its rows' count and hash, the delivered signatures, the cutoff."""
    if data.export_format not in FORMATS:
        raise ValueError(f"unknown format {data.export_format!r}")
    cutoff = data.cutoff.astimezone(UTC).replace(microsecond=0)
    selection = selection_for(
        session, campaign.id, data.recipient, new_only=data.new_only, until=cutoff
    )
    with session.begin_nested():
        delivery = Delivery(
            campaign_id=campaign.id,
            embassy_id=data.recipient.embassy.id if data.recipient.embassy else None,
            recipient="" if data.recipient.embassy else data.recipient.body.strip(),
            delivered_on=datetime.combine(data.delivered_on, time.min, tzinfo=UTC),
            method=data.method.strip(),
            export_format=data.export_format,
            cutoff=cutoff,
            notes=data.notes.strip(),
            organiser_id=organiser.id if organiser is not None else None,
            countries=[DeliveryCountry(country=code) for code in selection.countries or ()],
        )
        session.add(delivery)
        session.flush()
        # Counted just before the rows are read: a moderator's change landing between the
        # two (PostgreSQL's statements each see what is committed) would show in one only.
        delivery.total = exports.count(session, selection).total
        manifest = exports.Manifest()
        batch: list[dict[str, int]] = []
        for row in exports.rows(session, selection):
            manifest.add(row)
            batch.append({"delivery_id": delivery.id, "signature_id": row.id})
            if len(batch) == exports.BATCH:
                session.execute(insert(DeliveredSignature), batch)
                batch = []
        if batch:
            session.execute(insert(DeliveredSignature), batch)
        expected = data.expected_hash.strip().lower()
        if expected and expected != manifest.sha256:
            # Leaving the savepoint by this exception undoes the delivery and its rows.
            raise HashMismatch(expected, manifest.sha256, manifest.count)
        delivery.row_count = manifest.count
        delivery.rows_hash = manifest.sha256
    audit.record(
        session,
        audit.DELIVERY_RECORDED,
        organiser,
        campaign.id,
        count=manifest.count,
        delivery_id=delivery.id,
        recipient=data.recipient.label,
        embassy=data.recipient.embassy.key if data.recipient.embassy else "",
        format=data.export_format,
        new_only=data.new_only,
        cutoff=cutoff.isoformat(),
        rows_hash=manifest.sha256,
    )
    return delivery


@dataclass
class RecipientStatus:
    """One recipient on the deliveries page: what it was handed and what waits."""

    recipient: Recipient
    deliveries: list[Delivery] = field(default_factory=list)
    # Confirmed since the last delivery's cutoff: all of them, and those to be listed.
    waiting_total: int = 0
    waiting_listed: int = 0
    countries: tuple[str, ...] = ()

    @property
    def delivered(self) -> int:
        """Rows handed over so far, over every delivery."""
        return sum(d.row_count for d in self.deliveries)


@dataclass
class Overview:
    """The state of a campaign's deliveries, for the organisers' page."""

    confirmed: int
    paper: int
    without_embassy: int
    embassies: list[RecipientStatus]
    bodies: list[RecipientStatus]


def overview(session: Session, campaign: Campaign) -> Overview:
    """Per embassy and per named body: deliveries so far and signatures waiting."""
    confirmed, paper = session.execute(
        select(
            func.count(Signature.id),
            func.coalesce(func.sum(case((Signature.source == "paper", 1), else_=0)), 0),
        ).where(Signature.campaign_id == campaign.id, Signature.status == SignatureStatus.CONFIRMED)
    ).one()
    covered = session.scalar(
        select(func.count(Signature.id))
        .join(EmbassyCountry, EmbassyCountry.country == Signature.country)
        .where(Signature.campaign_id == campaign.id, Signature.status == SignatureStatus.CONFIRMED)
    )
    delivered = list(
        session.scalars(
            select(Delivery)
            .where(Delivery.campaign_id == campaign.id)
            .order_by(Delivery.delivered_on.desc(), Delivery.id.desc())
        )
    )
    waiting = _waiting_per_embassy(session, campaign.id)
    statuses = []
    for embassy in embassies(session):
        total, left_out = waiting.get(embassy.id, (0, 0))
        statuses.append(
            RecipientStatus(
                recipient=Recipient(embassy=embassy),
                deliveries=[d for d in delivered if d.embassy_id == embassy.id],
                waiting_total=total,
                waiting_listed=total - left_out,
                countries=tuple(sorted(c.country for c in embassy.countries)),
            )
        )
    bodies = []
    for name in sorted({d.recipient for d in delivered if d.embassy_id is None and d.recipient}):
        recipient = Recipient(body=name)
        counts = exports.count(
            session, selection_for(session, campaign.id, recipient, new_only=True)
        )
        bodies.append(
            RecipientStatus(
                recipient=recipient,
                deliveries=[d for d in delivered if d.embassy_id is None and d.recipient == name],
                waiting_total=counts.total,
                waiting_listed=counts.listed,
            )
        )
    return Overview(
        confirmed=int(confirmed),
        paper=int(paper),
        without_embassy=int(confirmed) - int(covered or 0),
        embassies=statuses,
        bodies=bodies,
    )


def _waiting_per_embassy(session: Session, campaign_id: int) -> dict[int, tuple[int, int]]:
    """Embassy id -> (confirmed since its last cutoff, of which left out of its lists)."""
    last = (
        select(Delivery.embassy_id, func.max(Delivery.cutoff).label("cutoff"))
        .where(Delivery.campaign_id == campaign_id, Delivery.embassy_id.is_not(None))
        .group_by(Delivery.embassy_id)
        .subquery()
    )
    # Handed over to the embassy of the row's country (correlated with the query below).
    handed_over = exports.delivered_to(campaign_id, EmbassyCountry.embassy_id, "")
    query = (
        select(
            EmbassyCountry.embassy_id,
            func.count(Signature.id),
            func.coalesce(func.sum(case((Signature.exclude_from_delivery, 1), else_=0)), 0),
        )
        .join(Signature, Signature.country == EmbassyCountry.country)
        .outerjoin(last, last.c.embassy_id == EmbassyCountry.embassy_id)
        .where(
            Signature.campaign_id == campaign_id,
            Signature.status == SignatureStatus.CONFIRMED,
            or_(
                last.c.cutoff.is_(None),
                Signature.confirmed_at > last.c.cutoff,
                # Listable but never handed to this embassy (see exports.Selection).
                Signature.exclude_from_delivery.is_(False) & ~handed_over,
            ),
        )
        .group_by(EmbassyCountry.embassy_id)
    )
    return {
        embassy_id: (int(n), int(left_out)) for embassy_id, n, left_out in session.execute(query)
    }


def body_names(session: Session, campaign_id: int) -> list[str]:
    """Named bodies that received deliveries of this campaign, for suggestions."""
    return list(
        session.scalars(
            select(Delivery.recipient)
            .where(Delivery.campaign_id == campaign_id, Delivery.embassy_id.is_(None))
            .distinct()
            .order_by(Delivery.recipient)
        )
    )


_RECEIPT_ALPHABET = re.compile(r"[^A-Z0-9]")


def normalise_receipt(code: str) -> str | None:
    """A receipt code in its printed form (XXXX-XXXX-XXXX), or None if it cannot be one."""
    raw = _RECEIPT_ALPHABET.sub("", (code or "").upper())
    if len(raw) != 12:
        return None
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


@dataclass(frozen=True)
class HandOver:
    """A delivered pack a receipt was in: to whom, and when."""

    recipient: str
    delivered_on: date


def receipt_deliveries(
    session: Session, campaign_id: int, code: str, language: str
) -> list[HandOver]:
    """The delivered packs of this campaign that held the signature with this receipt.

    An embassy is named in ``language``, as the packs name it; a body as the organisers did.
    """
    receipt = normalise_receipt(code)
    if receipt is None:
        return []
    found: list[Any] = list(
        session.execute(
            select(Delivery.recipient, Embassy, Delivery.delivered_on)
            .join(DeliveredSignature, DeliveredSignature.delivery_id == Delivery.id)
            .join(Signature, Signature.id == DeliveredSignature.signature_id)
            .outerjoin(Embassy, Embassy.id == Delivery.embassy_id)
            .where(Signature.receipt == receipt, Signature.campaign_id == campaign_id)
            .order_by(Delivery.delivered_on, Delivery.id)
        )
    )
    return [
        HandOver(name_in(embassy, language) if embassy else body, on.date())
        for body, embassy, on in found
    ]
