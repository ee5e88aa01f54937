"""Paper signatures gathered at protests: checking a CSV of them, then importing it.

Checking writes nothing: it reads the file, validates every row and finds duplicates
(an address already used, or the same name and city when there is no address). Importing
checks again, in the same transaction, and stores the rows that passed as confirmed
signatures with source "paper". Paper signers are never shown by name on the site or in
the lists handed over: nobody asked them how their name may appear.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cache

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign import audit, counting, countries
from campaign.models import Campaign, Display, Organiser, Signature, SignatureStatus, utcnow
from campaign.privacy import keyed_hash
from campaign.signing import clean_text, email_key, new_receipt

SOURCE = "paper"

COLUMNS = ("name", "email", "country", "city", "organisation", "date")
REQUIRED = ("name", "country", "date")
# Other spellings of the column names that people use.
_ALIASES = {"organization": "organisation", "e-mail": "email", "signed on": "date"}
# The same limits as the online form.
_MAX = {"name": 120, "email": 254, "city": 100, "organisation": 150}
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")
_SALT = "paper-import"


@dataclass
class PaperRow:
    """One row of the file, with what is wrong with it or what it duplicates."""

    line: int
    name: str = ""
    email: str = ""
    country: str = ""
    city: str = ""
    organisation: str = ""
    signed_on: date | None = None
    errors: list[str] = field(default_factory=list)
    duplicate: str = ""

    @property
    def importable(self) -> bool:
        """True when the row is valid and new."""
        return not self.errors and not self.duplicate

    def identity(self) -> str:
        """The key that makes two rows one signer: the address, else name and city."""
        if self.email:
            return email_key(self.email)
        return keyed_hash(f"{self.name.casefold()}\n{self.city.casefold()}", "paper-signer")


@dataclass
class PaperCheck:
    """The outcome of checking a file: its rows, or why it could not be read at all."""

    rows: list[PaperRow] = field(default_factory=list)
    problem: str = ""

    @property
    def importable(self) -> list[PaperRow]:
        """The rows an import would store."""
        return [row for row in self.rows if row.importable]

    @property
    def rejected(self) -> int:
        """Rows with errors."""
        return sum(1 for row in self.rows if row.errors)

    @property
    def duplicates(self) -> int:
        """Valid rows that are already signatures, or repeat an earlier row."""
        return sum(1 for row in self.rows if not row.errors and row.duplicate)


def decode(data: bytes) -> str | None:
    """The file's text (UTF-8, with or without a byte-order mark), or None."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def parse(text: str, *, max_rows: int, today: date) -> PaperCheck:
    """Read and validate every row of a CSV; duplicates are not looked for yet."""
    try:
        return _parse(text, max_rows=max_rows, today=today)
    except csv.Error:
        # A cell longer than the csv module reads (128 KiB), or broken quoting.
        return PaperCheck(
            problem=_("The file could not be read as CSV: a cell is far too long or badly quoted.")
        )


def _parse(text: str, *, max_rows: int, today: date) -> PaperCheck:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return PaperCheck(problem=_("The file is empty."))
    delimiter = max((",", ";", "\t"), key=lines[0].count)
    # newline="" lets the reader see every line ending (old Mac files end lines with CR).
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in next(reader)]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        return PaperCheck(
            problem=_(
                "The first line must name the columns; missing: %(missing)s.",
                missing=", ".join(missing),
            )
        )
    position = {name: header.index(name) for name in COLUMNS if name in header}
    check = PaperCheck()
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if len(check.rows) == max_rows:
            return PaperCheck(
                problem=_("The file has more than %(max)d rows; please split it.", max=max_rows)
            )
        values = {
            name: cells[index] if index < len(cells) else "" for name, index in position.items()
        }
        check.rows.append(_row(reader.line_num, values, today))
    if not check.rows:
        return PaperCheck(problem=_("The file has no signatures below its first line."))
    return check


def _row(line: int, values: dict[str, str], today: date) -> PaperRow:
    row = PaperRow(line=line)
    for name in ("name", "city", "organisation"):
        value = clean_text(values.get(name))
        if len(value) > _MAX[name]:
            row.errors.append(
                _("%(column)s: at most %(max)d characters.", column=name, max=_MAX[name])
            )
        setattr(row, name, value)
    if not row.name:
        row.errors.append(_("The name is missing."))

    address = clean_text(values.get("email"))
    if address:
        try:
            row.email = validate_email(address, check_deliverability=False).normalized
        except EmailNotValidError:
            row.errors.append(_("The email address is not valid."))
            row.email = address

    raw_country = clean_text(values.get("country"))
    row.country = country_code(raw_country) or raw_country
    if not raw_country:
        row.errors.append(_("The country is missing."))
    elif country_code(raw_country) is None:
        row.errors.append(_("Unknown country: %(country)s.", country=raw_country))

    raw_date = clean_text(values.get("date"))
    row.signed_on = _date(raw_date)
    if not raw_date:
        row.errors.append(_("The date is missing."))
    elif row.signed_on is None:
        row.errors.append(_("Write the date as YYYY-MM-DD or DD.MM.YYYY."))
    elif row.signed_on > today:
        row.errors.append(_("The date is in the future."))
    return row


def _date(value: str) -> date | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


@cache
def _country_names() -> dict[str, str]:
    """Country names in the site's languages, folded, to their codes."""
    names: dict[str, str] = {}
    for locale in ("en", "ru", "kk"):
        for code, name in Locale.parse(locale).territories.items():
            if code in countries.codes():
                names.setdefault(name.casefold(), code)
    return names


def country_code(value: str) -> str | None:
    """The ISO code of a country written as a code or a name in English, Russian or Kazakh."""
    if value.upper() in countries.codes():
        return value.upper()
    return _country_names().get(value.casefold())


def check(
    session: Session, campaign: Campaign, text: str, *, max_rows: int, today: date | None = None
) -> PaperCheck:
    """Validate a file and mark the rows that are already signatures or repeat a row."""
    result = parse(text, max_rows=max_rows, today=today or utcnow().date())
    valid = [row for row in result.rows if not row.errors]
    addresses: dict[str, int] = {}
    people: dict[tuple[str, str], int] = {}
    for row in valid:
        person = (row.name.casefold(), row.city.casefold())
        # An address is compared with addresses; without one, name and city are compared
        # with every earlier row's.
        earlier = addresses.get(row.identity()) if row.email else people.get(person)
        if earlier is not None:
            row.duplicate = _("Repeats line %(line)d of this file.", line=earlier)
            continue
        if row.email:
            addresses[row.identity()] = row.line
        people.setdefault(person, row.line)
    fresh = [row for row in valid if not row.duplicate]
    _mark_known_addresses(session, campaign.id, [r for r in fresh if r.email])
    _mark_known_names(session, campaign.id, [r for r in fresh if not r.email])
    return result


def _mark_known_addresses(session: Session, campaign_id: int, rows: list[PaperRow]) -> None:
    by_key = {row.identity(): row for row in rows}
    keys = list(by_key)
    for start in range(0, len(keys), 500):
        known = session.scalars(
            select(Signature.email_key).where(
                Signature.campaign_id == campaign_id,
                Signature.email_key.in_(keys[start : start + 500]),
            )
        )
        for key in known:
            by_key[key].duplicate = _("This email address has already signed.")


def _mark_known_names(session: Session, campaign_id: int, rows: list[PaperRow]) -> None:
    if not rows:
        return
    wanted = {(row.name.casefold(), row.city.casefold()): row for row in rows}
    # Case-insensitive comparison of non-Latin names is not portable in SQL, so the
    # names and cities of the campaign are read once, in batches, and folded here.
    result = session.execute(
        select(Signature.name, Signature.city)
        .where(Signature.campaign_id == campaign_id)
        .execution_options(yield_per=5000)
    )
    for name, city in result:
        row = wanted.get((name.casefold(), city.casefold()))
        if row is not None:
            row.duplicate = _("Someone with this name and city has already signed.")


@dataclass(frozen=True)
class PaperImport:
    """What an import did."""

    imported: int
    duplicates: int
    rejected: int


def import_rows(
    session: Session,
    campaign: Campaign,
    text: str,
    organiser: Organiser | None,
    *,
    max_rows: int,
) -> PaperImport:
    """Store the new, valid rows as confirmed paper signatures, count and audit them."""
    result = check(session, campaign, text, max_rows=max_rows)
    if result.problem:
        raise ValueError(result.problem)
    now = utcnow()
    imported = 0
    raced = 0
    for row in result.importable:
        signature = _signature(campaign, row, now)
        try:
            # An online signature with the same address may arrive meanwhile; the unique
            # constraint decides, and the row counts as a duplicate.
            with session.begin_nested():
                session.add(signature)
        except IntegrityError:
            raced += 1
            continue
        imported += 1
    counting.add(session, campaign.id, imported)
    audit.record(
        session,
        audit.PAPER_IMPORTED,
        organiser,
        campaign.id,
        count=imported,
        rows=len(result.rows),
        duplicates=result.duplicates + raced,
        rejected=result.rejected,
    )
    return PaperImport(imported, result.duplicates + raced, result.rejected)


def _signature(campaign: Campaign, row: PaperRow, now: datetime) -> Signature:
    assert row.signed_on is not None
    return Signature(
        campaign_id=campaign.id,
        email=row.email,
        email_key=row.identity(),
        name=row.name,
        country=row.country,
        city=row.city,
        organisation=row.organisation,
        display=Display.HIDDEN,
        exclude_from_delivery=False,
        locale=campaign_locale(),
        status=SignatureStatus.CONFIRMED,
        source=SOURCE,
        receipt=new_receipt(),
        # Noon (UTC) of the day written on the sheet, so the date reads the same in
        # every time zone the campaign reaches.
        created_at=datetime.combine(row.signed_on, time(12), tzinfo=UTC),
        confirmed_at=now,
    )


def campaign_locale() -> str:
    """The language recorded for paper signers, who chose none: the site's default."""
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def seal(text: str, campaign_id: int, organiser_id: int | None) -> str:
    """The checked file, signed and compressed, to be posted back to confirm the import."""
    return _serializer().dumps([campaign_id, organiser_id, text])


def unseal(token: str, campaign_id: int, organiser_id: int | None, max_age: int) -> str | None:
    """The file sealed for this campaign and organiser, if the seal is intact and fresh."""
    try:
        sealed_campaign, sealed_organiser, text = _serializer().loads(token, max_age=max_age)
    except (BadSignature, ValueError, TypeError):
        return None
    if sealed_campaign != campaign_id or sealed_organiser != organiser_id:
        return None
    return text if isinstance(text, str) else None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)
