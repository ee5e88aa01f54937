"""Exports of confirmed signatures: one row source, thin CSV and XLSX writers over it.

Every export, the PDF delivery packs included, reads its rows from ``rows()``, which
streams them from the database (``yield_per``: a server-side cursor on PostgreSQL), so
memory stays the same whatever the number of signatures. Spreadsheet cells pass
through ``neutralise()`` in ``spreadsheet_rows()``, the one place that guards them.

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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from campaign.models import DeliveredSignature, Signature, SignatureStatus

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
    # Exactly the signatures handed over in this recorded delivery.
    delivery_id: int | None = None
    # Leave out signers who asked not to be in the lists handed to the embassies.
    omit_excluded: bool = False

    def where(self, query: Select[Any]) -> Select[Any]:
        """``query`` narrowed to the signatures of this selection, excluded ones kept."""
        query = query.where(
            Signature.campaign_id == self.campaign_id,
            Signature.status == SignatureStatus.CONFIRMED,
        )
        if self.countries is not None:
            query = query.where(Signature.country.in_(self.countries))
        if self.since is not None:
            query = query.where(Signature.confirmed_at >= self.since)
        if self.after is not None:
            query = query.where(Signature.confirmed_at > self.after)
        if self.until is not None:
            query = query.where(Signature.confirmed_at <= self.until)
        if self.delivery_id is not None:
            query = query.join(
                DeliveredSignature,
                (DeliveredSignature.signature_id == Signature.id)
                & (DeliveredSignature.delivery_id == self.delivery_id),
            )
        return query


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


_ROW_COLUMNS = (
    Signature.id,
    Signature.name,
    Signature.display,
    Signature.country,
    Signature.city,
    Signature.organisation,
    Signature.source,
    Signature.created_at,
    Signature.confirmed_at,
    Signature.exclude_from_delivery,
)


def rows(session: Session, selection: Selection, *, with_emails: bool = False) -> Iterator[Any]:
    """Stream the rows of ``selection`` in pack order; emails only when asked for.

    Each row has the attributes id, name, display, country, city, organisation, source,
    created_at, confirmed_at, exclude_from_delivery (and email when asked for).
    """
    columns = (*_ROW_COLUMNS, Signature.email) if with_emails else _ROW_COLUMNS
    query = selection.where(select(*columns))
    if selection.omit_excluded:
        query = query.where(Signature.exclude_from_delivery.is_(False))
    query = query.order_by(Signature.confirmed_at, Signature.id)
    result = session.execute(query.execution_options(yield_per=BATCH))
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
        row.created_at.date().isoformat(),
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


def neutralise(value: Any) -> Any:
    """A cell that a spreadsheet will show as text, never run as a formula."""
    if isinstance(value, str) and value and value[0] in _FORMULA_STARTS:
        return "'" + value
    return value


@dataclass(frozen=True)
class Column:
    """A column of a spreadsheet export: its heading and how a row fills it."""

    heading: Any
    value: Any


def _iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else ""


def organiser_columns(with_emails: bool) -> list[Column]:
    """The columns of the organisers' own list."""
    columns = [
        Column(_l("ID"), lambda r: r.id),
        Column(_l("Name"), lambda r: r.name),
    ]
    if with_emails:
        columns.append(Column(_l("Email"), lambda r: r.email))
    columns += [
        Column(_l("Country"), lambda r: r.country),
        Column(_l("City"), lambda r: r.city),
        Column(_l("Organisation"), lambda r: r.organisation),
        Column(_l("Name shown"), lambda r: str(r.display)),
        Column(_l("Left out of embassy lists"), lambda r: "yes" if r.exclude_from_delivery else ""),
        Column(_l("Source"), lambda r: r.source),
        Column(_l("Signed at (UTC)"), lambda r: _iso(r.created_at)),
        Column(_l("Confirmed at (UTC)"), lambda r: _iso(r.confirmed_at)),
    ]
    return columns


def delivery_columns() -> list[Column]:
    """The columns of a list handed to a recipient: the canonical row, names as allowed."""
    withheld = str(_l("name withheld"))
    return [
        Column(_l("Name"), lambda r: public_name(r) or withheld),
        Column(_l("City"), lambda r: r.city),
        Column(_l("Country"), lambda r: r.country),
        Column(_l("Organisation"), lambda r: r.organisation),
        Column(_l("Source"), lambda r: r.source),
        Column(_l("Signed on"), lambda r: r.created_at.date().isoformat()),
    ]


def spreadsheet_rows(source: Iterable[Any], columns: Sequence[Column]) -> Iterator[list[Any]]:
    """The heading and then every row as cells, each neutralised against formulas."""
    yield [str(column.heading) for column in columns]
    getters = [column.value for column in columns]
    for row in source:
        yield [neutralise(get(row)) for get in getters]


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


def write_xlsx(cells: Iterable[Sequence[Any]], title: str) -> IO[bytes]:
    """Write rows of cells into an XLSX workbook on disk; returns it rewound for reading."""
    from openpyxl import Workbook

    # Write-only mode streams rows to a temporary file instead of keeping them all.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for row in cells:
        sheet.append(row)
    output = tempfile.TemporaryFile()  # noqa: SIM115 - the caller streams and closes it
    workbook.save(output)
    output.seek(0)
    return output
