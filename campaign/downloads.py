"""What organisers download: signature lists and delivery packs, each one in the audit log.

The organisers' pages and the ``flask export`` commands both come through here, so a
download made either way selects the same rows and leaves the same audit entry.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import IO, Any

from sqlalchemy.orm import Session

from campaign import audit, deliveries, exports, packs
from campaign.deliveries import Recipient
from campaign.models import Campaign, Delivery, Embassy, Organiser, utcnow

LIST_FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "zip": "application/zip",
}


@dataclass
class Download:
    """A file ready to be sent: streamed chunks, or a file on disk rewound for reading."""

    filename: str
    format: str
    count: int
    chunks: Iterator[bytes] | None = None
    file: IO[bytes] | None = None

    @property
    def mimetype(self) -> str:
        """The media type to send it with."""
        return MIMETYPES[self.format]


@dataclass(frozen=True)
class ListRequest:
    """The filters and options of a signature list."""

    format: str = "csv"
    # A list to hand over: names as the signers allowed them, never an email address.
    for_delivery: bool = False
    embassy: Embassy | None = None
    body: str = ""
    country: str = ""
    since: date | None = None
    until: date | None = None
    # Only what was confirmed since the last delivery to the embassy or body.
    new_only: bool = False
    with_emails: bool = False
    excel: bool = False

    @property
    def handed_over(self) -> bool:
        """True for a list to hand over: asked as such, or made for an embassy or a body.

        A list for a recipient is the one most likely to be printed and taken there, so it
        is always in the hand-over form: names as the signers allowed, no addresses.
        """
        return self.for_delivery or self.recipient is not None

    @property
    def recipient(self) -> Recipient | None:
        """The embassy or body the list is for, if any."""
        if self.embassy is not None:
            return Recipient(embassy=self.embassy)
        if self.body.strip():
            return Recipient(body=self.body.strip())
        return None


class RequestError(ValueError):
    """A combination of options that cannot be exported."""


class NothingToDeliver(RequestError):
    """A pack would hold no signature: nothing is made, and the organiser is told so."""


def _start(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def _end(day: date | None) -> datetime | None:
    return datetime.combine(day, time.max, tzinfo=UTC) if day else None


def list_selection(session: Session, campaign: Campaign, request: ListRequest) -> exports.Selection:
    """The signatures a list request asks for."""
    if request.format not in LIST_FORMATS:
        raise RequestError(f"unknown format {request.format!r}")
    if request.with_emails and request.handed_over:
        raise RequestError(
            "a list to hand over, or for an embassy or a body, never holds email addresses"
        )
    if request.embassy is not None and request.body.strip():
        raise RequestError("choose an embassy or a body, not both")
    recipient = request.recipient
    if request.new_only and recipient is None:
        raise RequestError("new since the last delivery needs an embassy or a body")
    if recipient is not None:
        selection = deliveries.selection_for(
            session,
            campaign.id,
            recipient,
            new_only=request.new_only,
            since=_start(request.since),
            until=_end(request.until),
        )
        if request.country:
            within = selection.countries
            kept = (request.country,) if within is None or request.country in within else ()
            selection = replace(selection, countries=kept)
        return selection
    return exports.Selection(
        campaign.id,
        countries=(request.country,) if request.country else None,
        since=_start(request.since),
        until=_end(request.until),
        # A list without a recipient may end up anywhere: it honours the opt-out too.
        omit_excluded=request.for_delivery,
    )


def signature_list(
    session: Session,
    campaign: Campaign,
    request: ListRequest,
    organiser: Organiser | None,
    *,
    via: str = "web",
) -> Download:
    """A CSV (streamed) or XLSX list of signatures, recorded in the audit log.

    A list to hand over holds what was confirmed up to a cutoff, the second it is made in,
    written into its file name: typed back when the delivery is recorded, the delivery holds
    exactly the list's signatures, as one recorded with a pack's cutoff does.
    """
    selection = list_selection(session, campaign, request)
    cutoff = None
    if request.handed_over:
        cutoff = deliveries.cutoff_now()
        if selection.until is None or selection.until > cutoff:
            selection = replace(selection, until=cutoff)
        deliveries.wait_until_past(cutoff)
    counts = exports.count(session, selection)
    audit.record(
        session,
        audit.SIGNATURES_EXPORTED,
        organiser,
        campaign.id,
        count=counts.listed,
        format=request.format,
        for_delivery=request.handed_over,
        with_emails=request.with_emails,
        excel=request.excel,
        embassy=request.embassy.key if request.embassy else "",
        body=request.body.strip(),
        country=request.country,
        since=request.since.isoformat() if request.since else "",
        until=request.until.isoformat() if request.until else "",
        new_only=request.new_only,
        via=via,
    )
    if request.handed_over:
        layout = exports.delivery_layout()
    else:
        layout = exports.organiser_layout(request.with_emails)
    rows = exports.rows(session, selection, with_emails=request.with_emails)
    cells = exports.spreadsheet_rows(rows, layout, guard=request.format == "csv")
    # The name tells an internal list from one to hand over, and whom that one is for.
    kind = "to-hand-over" if request.handed_over else "own-list"
    recipient = request.recipient
    for_whom = f"-{_file_part(recipient)}" if recipient is not None else ""
    stamp = f"cutoff-{cutoff:%Y-%m-%d-%H%M%S}" if cutoff is not None else f"{utcnow():%Y%m%d-%H%M}"
    name = f"{campaign.slug}-{kind}{for_whom}-{stamp}.{request.format}"
    if request.format == "csv":
        dialect = exports.EXCEL_CSV if request.excel else exports.PLAIN_CSV
        return Download(name, "csv", counts.listed, chunks=exports.csv_chunks(cells, dialect))
    return Download(
        name,
        "xlsx",
        counts.listed,
        file=exports.write_xlsx(cells, title=campaign.slug, dates=layout.dates),
    )


@dataclass(frozen=True)
class PackRequest:
    """Which pack to make: for one embassy or body, or one per embassy in a zip."""

    language: str = "en"
    embassy: Embassy | None = None
    body: str = ""
    every_embassy: bool = False
    new_only: bool = False
    cutoff: datetime | None = None


def pack(
    session: Session,
    campaign: Campaign,
    request: PackRequest,
    organiser: Organiser | None,
    *,
    via: str = "web",
) -> Download:
    """A delivery pack as a PDF, or a zip of one PDF per embassy; recorded in the audit log."""
    cutoff = (request.cutoff or deliveries.cutoff_now()).astimezone(UTC).replace(microsecond=0)
    deliveries.wait_until_past(cutoff)
    stamp = f"{cutoff:%Y%m%d-%H%M%S}"
    if request.every_embassy:
        wanted = [
            (
                Recipient(embassy=embassy),
                deliveries.selection_for(
                    session,
                    campaign.id,
                    Recipient(embassy=embassy),
                    new_only=request.new_only,
                    until=cutoff,
                ),
            )
            for embassy in deliveries.embassies(session)
        ]
        output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller to send
        built = packs.build_zip(session, campaign, wanted, request.language, output)
        if not built:
            # No embassy has a signature to deliver: rather than an empty zip.
            output.close()
            raise NothingToDeliver("no embassy has a signature to deliver")
        output.seek(0)
        rows = sum(p.row_count for _r, p in built)
        audit.record(
            session,
            audit.PACK_EXPORTED,
            organiser,
            campaign.id,
            count=rows,
            recipient="every embassy",
            packs=len(built),
            language=request.language,
            new_only=request.new_only,
            cutoff=cutoff.isoformat(),
            via=via,
        )
        return Download(f"{campaign.slug}-embassy-packs-{stamp}.zip", "zip", rows, file=output)

    if request.embassy is not None:
        recipient = Recipient(embassy=request.embassy)
    elif request.body.strip():
        recipient = Recipient(body=request.body.strip())
    else:
        raise RequestError("a pack is for an embassy, a body, or every embassy")
    selection = deliveries.selection_for(
        session, campaign.id, recipient, new_only=request.new_only, until=cutoff
    )
    if exports.count(session, selection).total == 0:
        raise NothingToDeliver("no signature to deliver")
    return _pdf(
        session,
        campaign,
        recipient,
        selection,
        request.language,
        organiser,
        via=via,
        filename=f"{campaign.slug}-{_file_part(recipient)}-{stamp}.pdf",
        detail={"new_only": request.new_only, "cutoff": cutoff.isoformat()},
    )


def delivery_pack(
    session: Session,
    campaign: Campaign,
    delivery: Delivery,
    language: str,
    organiser: Organiser | None,
    *,
    via: str = "web",
) -> Download:
    """The pack of a recorded delivery again, from the signatures it listed, and its total.

    The same rows and hash as the pack handed over, unless a signer has since been erased
    (withdrawn, or past the retention time): a list of people is not kept for ever. A
    delivery recorded before its total was kept (migration 0012) prints the rows it lists
    as its total, without the signers who had asked to be left out of the lists.
    """
    recipient = deliveries.recipient_of(session, delivery)
    base = deliveries.selection_for(session, campaign.id, recipient, until=delivery.cutoff)
    selection = replace(base, countries=None, delivery_id=delivery.id)
    return _pdf(
        session,
        campaign,
        recipient,
        selection,
        language,
        organiser,
        via=via,
        filename=f"{campaign.slug}-delivery-{delivery.id}.pdf",
        detail={"delivery_id": delivery.id},
        on=delivery.delivered_on.date(),
        total=delivery.total,
    )


def _pdf(
    session: Session,
    campaign: Campaign,
    recipient: Recipient,
    selection: exports.Selection,
    language: str,
    organiser: Organiser | None,
    *,
    via: str,
    filename: str,
    detail: dict[str, Any],
    on: date | None = None,
    total: int | None = None,
) -> Download:
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller to send
    built = packs.build(
        session, campaign, recipient, selection, language, output, on=on, total=total
    )
    output.seek(0)
    audit.record(
        session,
        audit.PACK_EXPORTED,
        organiser,
        campaign.id,
        count=built.row_count,
        recipient=recipient.label,
        embassy=recipient.embassy.key if recipient.embassy else "",
        language=language,
        rows_hash=built.rows_hash,
        via=via,
        **detail,
    )
    return Download(filename, "pdf", built.row_count, file=output)


def _file_part(recipient: Recipient) -> str:
    if recipient.embassy is not None:
        return recipient.embassy.key
    kept = "".join(ch if ch.isalnum() else "-" for ch in recipient.body.lower())
    return "-".join(part for part in kept.split("-") if part)[:40] or "body"


def body_is_valid(name: str) -> bool:
    """A body's name: some letters, and no email address (the audit log keeps the name)."""
    stripped = name.strip()
    return bool(stripped) and "@" not in stripped and len(stripped) <= 200
