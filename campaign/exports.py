"""Exports of confirmed signatures: one row source, thin CSV and XLSX writers over it.

Every export, the PDF delivery packs included, reads its rows from ``rows()``, which
streams them from the database (``yield_per``: a server-side cursor on PostgreSQL), so
memory stays the same whatever the number of signatures. CSV cells pass through
``neutralise_row()`` in ``spreadsheet_rows()``, the one place that guards them; an XLSX
file types each cell, and ``write_xlsx()`` stores every text as text, never a formula.

Canonical row serialisation (the rows hash of a delivery pack)
---------------------------------------------------------------
A delivered row is the list of six strings ``[name, city, country, organisation,
source, signed_on]``: the name as the signer allowed it to appear (an empty string
when withheld), city and organisation as stored, the ISO 3166 country code, ``online``
or ``paper``, and the date of signing as ``YYYY-MM-DD`` (UTC). Each row is written as
compact JSON (``json.dumps(row, ensure_ascii=False, separators=(",", ":"))``) followed
by one line feed, encoded in UTF-8; the rows come in the order of the pack (time of
confirmation, then signature id). The rows hash is the SHA-256 of that byte sequence,
in lowercase hex. A leading apostrophe that the spreadsheet guard adds to a cell is not
part of its value.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, String, case, exists, func, select, type_coerce
from sqlalchemy.orm import Session

from campaign.models import DeliveredSignature, Delivery, Display, Signature, SignatureStatus

# Rows fetched from the database at a time.
BATCH = 1000

# Characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection"),
# with the full-width forms that some spreadsheets treat the same way.
_FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


@dataclass(frozen=True)
class Selection:
    """Which confirmed signatures of a campaign an export holds."""

    campaign_id: int
    # None: every country; otherwise only signers from these ISO codes.
    countries: tuple[str, ...] | None = None
    # Confirmed at or after ``since``, strictly after ``after``, at or before ``until``.
    since: datetime | None = None
    after: datetime | None = None
    until: datetime | None = None
    # With ``after`` (the cutoff of the last delivery to a recipient, named here as
    # (embassy id, body)): also the signatures confirmed before it that this recipient
    # was never handed, such as one whose confirmation was still being saved while that
    # delivery was read. Nothing listable is then ever skipped by "new since".
    undelivered_to: tuple[int | None, str] | None = None
    # Exactly the signatures handed over in this recorded delivery, whatever became of them
    # since (taken out of the count since, they were still in it).
    delivery_id: int | None = None
    # Leave out signers who asked not to be in the lists handed to the embassies.
    omit_excluded: bool = False

    def where(self, query: Select[Any]) -> Select[Any]:
        """``query`` narrowed to the signatures of this selection, excluded ones kept."""
        query = query.where(Signature.campaign_id == self.campaign_id)
        if self.delivery_id is None:
            query = query.where(Signature.status == SignatureStatus.CONFIRMED)
        if self.countries is not None:
            query = query.where(Signature.country.in_(self.countries))
        if self.since is not None:
            query = query.where(Signature.confirmed_at >= self.since)
        if self.after is not None:
            newer = Signature.confirmed_at > self.after
            if self.undelivered_to is not None:
                missed = ~delivered_to(self.campaign_id, *self.undelivered_to)
                if self.omit_excluded:
                    missed = missed & Signature.exclude_from_delivery.is_(False)
                newer = newer | missed
            query = query.where(newer)
        if self.until is not None:
            query = query.where(Signature.confirmed_at <= self.until)
        if self.delivery_id is not None:
            query = query.join(
                DeliveredSignature,
                (DeliveredSignature.signature_id == Signature.id)
                & (DeliveredSignature.delivery_id == self.delivery_id),
            )
        return query


def delivered_to(campaign_id: int, embassy_id: int | ColumnElement[int] | None, body: str) -> Any:
    """True for a signature (of the enclosing query) already handed to this recipient.

    ``embassy_id`` may be a column of the enclosing query, for one embassy per row.
    """
    recipient = (
        Delivery.embassy_id == embassy_id
        if embassy_id is not None
        else Delivery.embassy_id.is_(None) & (Delivery.recipient == body)
    )
    return exists().where(
        DeliveredSignature.signature_id == Signature.id,
        DeliveredSignature.delivery_id == Delivery.id,
        Delivery.campaign_id == campaign_id,
        recipient,
    )


@dataclass(frozen=True)
class Counts:
    """How many signatures a selection holds, and how many of them may be listed."""

    total: int
    listed: int

    @property
    def withheld(self) -> int:
        """Signers counted in the total but left out of the list."""
        return self.total - self.listed


def count(session: Session, selection: Selection) -> Counts:
    """The number of signatures in ``selection``, and of those its list would show."""
    excluded = func.coalesce(func.sum(case((Signature.exclude_from_delivery, 1), else_=0)), 0)
    total, left_out = session.execute(
        selection.where(select(func.count(Signature.id), excluded))
    ).one()
    listed = total - left_out if selection.omit_excluded else total
    return Counts(total=int(total), listed=int(listed))


def _utc_text(column: Any, dialect: str) -> Any:
    """A timestamp read as UTC text, "YYYY-MM-DD HH:MM:SS", with no datetime made for it."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS")
    # SQLite holds timestamps as UTC text already (models.UTCDateTime stores them so).
    return func.substr(type_coerce(column, String), 1, 19)


def rows(session: Session, selection: Selection, *, with_emails: bool = False) -> Iterator[Any]:
    """Stream the rows of ``selection`` in pack order; emails only when asked for.

    Each row has the attributes id, name, display, country, city, organisation, source,
    created_at, confirmed_at (UTC text, "YYYY-MM-DD HH:MM:SS"), exclude_from_delivery,
    wants_updates, and email when asked for.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    # Timestamps are formatted by the database: making a million datetime objects only
    # to print them again would cost more than the rest of the export.
    columns = [
        Signature.id,
        Signature.name,
        Signature.display,
        Signature.country,
        Signature.city,
        Signature.organisation,
        Signature.source,
        _utc_text(Signature.created_at, dialect).label("created_at"),
        _utc_text(Signature.confirmed_at, dialect).label("confirmed_at"),
        Signature.exclude_from_delivery,
        Signature.wants_updates,
    ]
    if with_emails:
        columns.append(Signature.email)
    query = selection.where(select(*columns))
    if selection.omit_excluded:
        query = query.where(Signature.exclude_from_delivery.is_(False))
    query = query.order_by(Signature.confirmed_at, Signature.id)
    # Core rather than the ORM: plain rows, fetched a batch at a time (on PostgreSQL
    # through a server-side cursor), in the session's own transaction.
    result = connection.execute(query.execution_options(yield_per=BATCH))
    try:
        yield from result
    finally:
        result.close()


def public_name(row: Any) -> str:
    """The name as the signer allowed it to appear; empty when withheld."""
    # The model's own rule, applied to a plain row rather than a loaded object.
    return Signature.public_name(row) or ""


def canonical(row: Any) -> list[str]:
    """A delivered row as the six strings the rows hash covers (see the module's doc)."""
    return [
        public_name(row),
        row.city,
        row.country,
        row.organisation,
        row.source,
        row.created_at[:10],
    ]


def canonical_line(values: Sequence[str]) -> bytes:
    """One row of the canonical serialisation: compact JSON, a line feed, UTF-8."""
    return (json.dumps(list(values), ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def rows_hash(lines: Iterable[Sequence[str]]) -> str:
    """SHA-256 of the canonical serialisation of ``lines``, in lowercase hex."""
    digest = hashlib.sha256()
    for values in lines:
        digest.update(canonical_line(values))
    return digest.hexdigest()


class Manifest:
    """Counts and hashes delivered rows as they go by, for the end of a pack."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self.count = 0

    def add(self, row: Any) -> list[str]:
        """Account for one delivered row; returns its canonical values."""
        values = canonical(row)
        self._digest.update(canonical_line(values))
        self.count += 1
        return values

    @property
    def sha256(self) -> str:
        """The rows hash so far."""
        return self._digest.hexdigest()


def neutralise_row(cells: list[Any]) -> list[Any]:
    """The cells of a row as a spreadsheet will show them: as text, never run as formulas."""
    starts = _FORMULA_STARTS
    return [
        "'" + cell if cell.__class__ is str and cell and cell[0] in starts else cell
        for cell in cells
    ]


def neutralise(value: Any) -> Any:
    """One cell, guarded as ``neutralise_row`` guards every cell."""
    return neutralise_row([value])[0]


@dataclass(frozen=True)
class Layout:
    """The columns of a spreadsheet export: their headings, and how a row fills them."""

    headings: tuple[Any, ...]
    cells: Callable[[Any], list[Any]]
    # The columns that hold a UTC date ("YYYY-MM-DD") or time ("YYYY-MM-DD HH:MM:SS") as
    # text: a CSV keeps the text; an XLSX makes date cells of them (write_xlsx).
    dates: tuple[int, ...] = ()


def _source_words() -> dict[str, str]:
    """How a signature came in, as words in the current language, keyed by stored code."""
    return {"paper": str(_l("paper")), "online": str(_l("online"))}


def _organiser_cells(with_emails: bool) -> Callable[[Any], list[Any]]:
    """How a row of ``rows()`` fills the organisers' list, coded values put into words.

    The words are looked up once, in the export's language (the request's, or the one
    the command forces), rather than once a row: there can be a million rows.
    """
    yes = str(_l("yes"))
    displays = {
        Display.FULL: str(_l("full name")),
        Display.INITIAL: str(_l("first name and initial")),
        Display.HIDDEN: str(_l("name withheld")),
    }
    sources = _source_words()

    # One function per row rather than one per cell: it runs a million times for a
    # large campaign. A code the maps do not know is shown as stored, never dropped.
    def cells(row: Any) -> list[Any]:
        (
            id_, name, display, country, city, organisation, source, signed, confirmed,
            left_out, wants_updates,
        ) = row  # fmt: skip
        return [
            id_,
            name,
            country,
            city,
            organisation,
            displays.get(display, display),
            yes if left_out else "",
            yes if wants_updates else "",
            sources.get(source, source),
            signed,
            confirmed or "",
        ]

    if not with_emails:
        return cells

    def cells_with_email(row: Any) -> list[Any]:
        values = cells(row[:-1])
        values.insert(2, row[-1])
        return values

    return cells_with_email


def organiser_layout(with_emails: bool) -> Layout:
    """The organisers' own list: full names, every column, emails only when asked for."""
    headings = [
        _l("ID"),
        _l("Name"),
        _l("Country"),
        _l("City"),
        _l("Organisation"),
        _l("Name shown"),
        _l("Left out of handed-over lists"),
        _l("Asked for campaign updates"),
        _l("Source"),
        _l("Signed at (UTC)"),
        _l("Confirmed at (UTC)"),
    ]
    if with_emails:
        headings.insert(2, _l("Email"))
    last = len(headings) - 1
    return Layout(tuple(headings), _organiser_cells(with_emails), dates=(last - 1, last))


def delivery_layout() -> Layout:
    """A list handed to a recipient: the canonical row, names as the signers allowed."""
    withheld = str(_l("name withheld"))
    # The hash covers the stored words (see the module's doc); the reader gets their own.
    sources = _source_words()

    def cells(row: Any) -> list[Any]:
        values = canonical(row)
        values[0] = values[0] or withheld
        values[4] = sources.get(values[4], values[4])
        return values

    headings = (
        _l("Name"),
        _l("City"),
        _l("Country"),
        _l("Organisation"),
        _l("Source"),
        _l("Signed on"),
    )
    return Layout(headings, cells, dates=(5,))


def spreadsheet_rows(
    source: Iterable[Any], layout: Layout, *, guard: bool = True
) -> Iterator[list[Any]]:
    """The headings, then every row as cells, each neutralised against formulas.

    ``guard=False`` for XLSX, whose cells are typed (``write_xlsx``): there an apostrophe
    would show as part of the value.
    """
    yield [str(heading) for heading in layout.headings]
    cells = layout.cells
    for row in source:
        yield neutralise_row(cells(row)) if guard else cells(row)


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is laid out."""

    delimiter: str
    line_end: str
    bom: bool


PLAIN_CSV = CsvDialect(delimiter=",", line_end="\n", bom=False)
# Excel reads UTF-8 only after a byte-order mark; with the locales our organisers use,
# it splits columns on semicolons, and it expects Windows line ends.
EXCEL_CSV = CsvDialect(delimiter=";", line_end="\r\n", bom=True)


def csv_chunks(
    cells: Iterable[Sequence[Any]], dialect: CsvDialect = PLAIN_CSV, rows_per_chunk: int = 1000
) -> Iterator[bytes]:
    """Encode rows of cells as CSV, a chunk of bytes every ``rows_per_chunk`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=dialect.delimiter, lineterminator=dialect.line_end)
    if dialect.bom:
        buffer.write("\ufeff")
    pending = 0
    for row in cells:
        writer.writerow(row)
        pending += 1
        if pending == rows_per_chunk:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if buffer.tell():
        yield buffer.getvalue().encode()


def _text_cell(sheet: Any, value: Any) -> Any:
    """``value`` for an XLSX row; text openpyxl would store as a formula is stored as text."""
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def _date_cell(sheet: Any, value: Any) -> Any:
    """A UTC date or time given as text, for an XLSX row: a date cell that sorts and filters."""
    if not value:
        return value
    from openpyxl.cell import WriteOnlyCell

    if len(value) == 10:
        cell = WriteOnlyCell(sheet, value=date.fromisoformat(value))
        cell.number_format = "yyyy-mm-dd"
    else:
        cell = WriteOnlyCell(sheet, value=datetime.fromisoformat(value))
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    return cell


def write_xlsx(cells: Iterable[Sequence[Any]], title: str, dates: Sequence[int] = ()) -> IO[bytes]:
    """Write rows of cells into an XLSX workbook on disk; returns it rewound for reading.

    The columns ``dates`` (after the first row, the headings) become date cells.
    """
    from openpyxl import Workbook

    # Write-only mode streams rows to a temporary file instead of keeping them all.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    rows = iter(cells)
    for headings in rows:
        sheet.append([_text_cell(sheet, value) for value in headings])
        break
    for row in rows:
        values = [_text_cell(sheet, value) for value in row]
        for column in dates:
            values[column] = _date_cell(sheet, row[column])
        sheet.append(values)
    output = tempfile.TemporaryFile()  # noqa: SIM115 - the caller streams and closes it
    workbook.save(output)
    output.seek(0)
    return output
