"""Exports: CSV and XLSX lists, PDF delivery packs, their filters, guards and audit entries."""

from __future__ import annotations

import csv
import hashlib
import inspect
import io
import json
import re
import tracemalloc
import zipfile
from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import request_finished
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import insert, select

from campaign import audit, deliveries, downloads, exports
from campaign.models import AuditEntry, Campaign, Signature, SignatureStatus
from tests.factories import log_in, make_organiser, make_signature, page_token

EXPORT = "/organisers/campaigns/zhanaozen/export"
DELIVERIES = "/organisers/campaigns/zhanaozen/deliveries"
PACKS = "/organisers/campaigns/zhanaozen/packs"


@pytest.fixture
def signed_in(client, session):
    organiser = make_organiser(session)
    session.commit()
    assert log_in(client, organiser).status_code == 303
    return client


@pytest.fixture
def campaign(session):
    return session.get(Campaign, 1)


def export(client, **fields):
    data = {"format": "csv", "purpose": "organisers", "csrf_token": page_token(client, EXPORT)}
    data.update(fields)
    return client.post(EXPORT, data=data)


def parse_csv(response, delimiter=","):
    text = response.get_data(as_text=True)
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=delimiter))


def pack(client, **fields):
    data = {"language": "en", "csrf_token": page_token(client, DELIVERIES)}
    data.update(fields)
    return client.post(PACKS, data=data)


def pdf_text(data: bytes) -> list[str]:
    """The text of each page, with runs of white space made single spaces."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def audit_entries(session, action):
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def bulk_signatures(session, campaign_id: int, count: int, **values) -> None:
    """Many confirmed signatures at once, straight into the table."""
    now = datetime.now(UTC)
    base = {
        "campaign_id": campaign_id,
        "country": "GB",
        "city": "London",
        "organisation": "Unite the Union, London and Eastern region, branch LE/1234",
        "display": "full",
        "status": "confirmed",
        "source": "online",
        "created_at": now,
        "confirmed_at": now,
    }
    base.update(values)
    rows = [
        dict(
            base,
            name=f"Bulk Signer {i}",
            email=f"bulk{i}@example.org",
            email_key=f"bulk-key-{campaign_id}-{i}",
            receipt=f"BULK-{i:08d}",
        )
        for i in range(count)
    ]
    session.execute(insert(Signature), rows)
    session.commit()


# --- CSV ---------------------------------------------------------------------------------


def test_csv_holds_confirmed_signatures_and_no_emails_unless_asked(session, signed_in, campaign):
    make_signature(session, campaign, name="Alice Worker", email="alice@example.org", city="Leeds")
    make_signature(session, campaign, name="Bob Worker", email="bob@example.org", country="DE")
    make_signature(
        session, campaign, name="Pending Person", email="pending@example.org", confirmed=False
    )
    gone = make_signature(session, campaign, name="Removed Person", email="removed@example.org")
    gone.status = SignatureStatus.INVALIDATED
    session.commit()

    response = export(signed_in)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = parse_csv(response)
    assert "Email" not in header
    assert "@" not in response.get_data(as_text=True)
    names = {row[header.index("Name")] for row in rows}
    assert names == {"Alice Worker", "Bob Worker"}
    alice = next(row for row in rows if row[header.index("Name")] == "Alice Worker")
    assert alice[header.index("City")] == "Leeds"
    assert alice[header.index("Country")] == "GB"
    assert alice[header.index("Source")] == "online"

    with_emails = export(signed_in, with_emails="y")
    header, *rows = parse_csv(with_emails)
    assert {row[header.index("Email")] for row in rows} == {"alice@example.org", "bob@example.org"}

    without, with_ = audit_entries(session, audit.SIGNATURES_EXPORTED)
    assert (without.count, without.detail["with_emails"]) == (2, False)
    assert (with_.count, with_.detail["with_emails"]) == (2, True)
    assert with_.detail["format"] == "csv"
    assert "@" not in json.dumps(with_.detail)


def test_the_own_list_says_who_asked_for_campaign_updates(session, signed_in, campaign):
    # The form promises updates only to those who tick the box: the organisers' list must
    # tell them apart, and no list handed over may carry the choice.
    make_signature(session, campaign, name="Wants News", country="AT", wants_updates=True)
    make_signature(session, campaign, name="No News", country="AT", wants_updates=False)
    session.commit()
    header, *rows = parse_csv(export(signed_in))
    column = header.index("Asked for campaign updates")
    assert {row[header.index("Name")]: row[column] for row in rows} == {
        "Wants News": "yes",
        "No News": "",
    }
    header, *_rows = parse_csv(export(signed_in, purpose="delivery"))
    assert "Asked for campaign updates" not in header


def test_csv_times_are_in_utc_whatever_zone_they_were_given_in(session, signed_in, campaign):
    signature = make_signature(session, campaign, name="Almaty Time")
    almaty = timezone(timedelta(hours=5))
    signature.created_at = datetime(2026, 3, 8, 1, 30, 15, 999999, tzinfo=almaty)
    signature.confirmed_at = datetime(2026, 3, 8, 4, 59, 59, tzinfo=almaty)
    session.commit()
    header, row = parse_csv(export(signed_in))
    assert row[header.index("Signed at (UTC)")] == "2026-03-07 20:30:15"
    assert row[header.index("Confirmed at (UTC)")] == "2026-03-07 23:59:59"
    header, row = parse_csv(export(signed_in, purpose="delivery"))
    assert row[header.index("Signed on")] == "2026-03-07"


def test_excel_friendly_csv_has_bom_semicolons_and_windows_line_ends(session, signed_in, campaign):
    make_signature(session, campaign, name="Наталья Соколова", city="Алматы", country="KZ")
    session.commit()
    body = export(signed_in, excel="y").get_data()
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    header, row = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert row[header.index("Name")] == "Наталья Соколова"

    plain = export(signed_in).get_data()
    assert not plain.startswith("\ufeff".encode())
    assert b"\r\n" not in plain


@pytest.mark.parametrize(
    "value",
    ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\r=x", "\n=x", "\uff1dHYPERLINK()"],
)
def test_guard_quotes_every_formula_start(value):
    assert exports.neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["Alice", "", "Smith-Jones", "a=b", 12])
def test_guard_leaves_ordinary_values(value):
    assert exports.neutralise(value) == value


DANGEROUS = {
    "name": '=HYPERLINK("http://evil.example","x")',
    "city": "+cmd|' /C calc'!A0",
    "organisation": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def test_csv_cells_are_neutralised_against_formula_injection(session, signed_in, campaign):
    signature = make_signature(session, campaign, **DANGEROUS)
    signature.city = "\t" + DANGEROUS["city"]  # stored by some older path, still guarded
    make_signature(session, campaign, name="-10 Minus")
    session.commit()
    for purpose in ("organisers", "delivery"):
        _header, *rows = parse_csv(export(signed_in, purpose=purpose))
        cells = [cell for row in rows for cell in row]
        assert "'" + DANGEROUS["name"] in cells
        assert "'\t" + DANGEROUS["city"] in cells
        assert "'" + DANGEROUS["organisation"] in cells
        assert "'-10 Minus" in cells
        assert not any(cell[:1] in "=+-@\t\r" for cell in cells if cell)


def test_xlsx_cells_are_neutralised_and_stay_text(session, signed_in, campaign):
    make_signature(session, campaign, **DANGEROUS)
    make_signature(session, campaign, name="Әсел Қайратқызы", country="KZ")
    session.commit()
    response = export(signed_in, format="xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    header, *rows = list(sheet.iter_rows())
    headings = [cell.value for cell in header]
    names = [row[headings.index("Name")] for row in rows]
    # Typed as text, the values are kept as they were typed: no apostrophe shows in Excel.
    assert {cell.value for cell in names} == {DANGEROUS["name"], "Әсел Қайратқызы"}
    for row in rows:
        for cell in row:
            assert cell.data_type != "f"  # nothing is a formula
    city = next(
        row[headings.index("City")] for row in rows if row[0].value and "HYPER" in str(row[1].value)
    )
    assert city.value == DANGEROUS["city"]
    raw = zipfile.ZipFile(io.BytesIO(response.get_data())).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in raw and b"HYPERLINK" in raw


def test_xlsx_dates_are_date_cells_in_every_list(session, signed_in, campaign):
    # Text that looks like a date neither sorts nor filters as one in a spreadsheet.
    signature = make_signature(session, campaign, name="Dated Signer", country="AT")
    signature.created_at = datetime(2026, 3, 8, 9, 15, 30, tzinfo=UTC)
    signature.confirmed_at = datetime(2026, 3, 8, 10, 0, 5, tzinfo=UTC)
    session.commit()

    def sheet_of(**fields) -> dict[str, list]:
        response = export(signed_in, format="xlsx", **fields)
        assert response.status_code == 200
        header, *rows = list(load_workbook(io.BytesIO(response.get_data())).active.iter_rows())
        columns = [cell.value for cell in header]
        return {name: [row[i] for row in rows] for i, name in enumerate(columns)}

    for fields in ({}, {"with_emails": "y"}):  # the email column moves the dates along
        own = sheet_of(**fields)
        (signed,), (confirmed,) = own["Signed at (UTC)"], own["Confirmed at (UTC)"]
        assert signed.value == datetime(2026, 3, 8, 9, 15, 30)
        assert confirmed.value == datetime(2026, 3, 8, 10, 0, 5)
        assert signed.is_date and signed.number_format == "yyyy-mm-dd hh:mm:ss"
        assert confirmed.is_date
        assert [cell.value for cell in own["Name"]] == ["Dated Signer"]
    (day,) = sheet_of(purpose="delivery", embassy="at-vienna")["Signed on"]
    assert day.value == datetime(2026, 3, 8) and day.number_format == "yyyy-mm-dd"


def test_csv_body_is_a_generator_that_streams_in_chunks(app, session, signed_in, campaign):
    bulk_signatures(session, campaign.id, 2500)
    bodies = []

    def keep(sender, response, **extra):
        bodies.append(response.response)

    request_finished.connect(keep, app)
    try:
        response = export(signed_in)
    finally:
        request_finished.disconnect(keep, app)
    assert response.is_streamed
    assert inspect.isgenerator(bodies[-1])
    chunks = list(response.response)
    assert len(chunks) >= 3  # a chunk per thousand rows, not one body
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == 2501


def test_csv_export_memory_stays_well_below_its_size(app, session, campaign):
    bulk_signatures(session, campaign.id, 40000)
    with app.test_request_context():
        download = downloads.signature_list(
            session, campaign, downloads.ListRequest(with_emails=True), None
        )
        tracemalloc.start()
        try:
            size = sum(len(chunk) for chunk in download.chunks)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert size > 6_000_000
    # Holding the file, or all its rows, would take more than its size; streaming holds
    # one batch of rows and one chunk of text at a time.
    assert peak < size / 2, (peak, size)


# --- Filters ---------------------------------------------------------------------------


def test_filters_by_embassy_country_and_dates(session, signed_in, campaign):
    vienna_covers = {c.country for c in deliveries.embassy_by_key(session, "at-vienna").countries}
    assert {"AT", "SI"} <= vienna_covers
    make_signature(session, campaign, name="In Austria", country="AT")
    make_signature(session, campaign, name="In Slovenia", country="SI")
    make_signature(session, campaign, name="In Britain", country="GB")
    old = make_signature(session, campaign, name="Old Austrian", country="AT")
    old.confirmed_at = datetime(2024, 3, 1, 12, tzinfo=UTC)
    session.commit()

    def names(**fields):
        header, *rows = parse_csv(export(signed_in, **fields))
        return {row[header.index("Name")] for row in rows}

    assert names(embassy="at-vienna") == {"In Austria", "In Slovenia", "Old Austrian"}
    assert names(country="GB") == {"In Britain"}
    assert names(embassy="at-vienna", country="SI") == {"In Slovenia"}
    assert names(until="2024-03-01") == {"Old Austrian"}
    assert names(since="2024-03-02", embassy="at-vienna") == {"In Austria", "In Slovenia"}


def test_delivery_list_honours_display_and_the_opt_out(session, signed_in, campaign):
    make_signature(session, campaign, name="Full Name", display="full", country="AT")
    make_signature(session, campaign, name="Initial Person", display="initial", country="AT")
    make_signature(session, campaign, name="Hidden Person", display="hidden", country="AT")
    make_signature(session, campaign, name="Left Out", country="AT", exclude_from_delivery=True)
    session.commit()
    response = export(signed_in, purpose="delivery", embassy="at-vienna")
    header, *rows = parse_csv(response)
    assert header == ["Name", "City", "Country", "Organisation", "Source", "Signed on"]
    assert sorted(row[0] for row in rows) == ["Full Name", "Initial P.", "name withheld"]
    assert "Left Out" not in response.get_data(as_text=True)
    # A body, named in free text, may be anyone: the opt-out holds for it too.
    body_list = export(signed_in, purpose="delivery", body="ITUC")
    header, *rows = parse_csv(body_list)
    assert sorted(row[0] for row in rows) == ["Full Name", "Initial P.", "name withheld"]
    assert "Left Out" not in body_list.get_data(as_text=True)


def test_a_list_for_an_embassy_or_a_body_is_always_one_to_hand_over(session, signed_in, campaign):
    # The list most likely to be printed and taken to an embassy must never name those who
    # asked not to be named, whichever kind of list was ticked.
    make_signature(session, campaign, name="Full Name", display="full", country="AT")
    make_signature(session, campaign, name="Hidden Person", display="hidden", country="AT")
    make_signature(session, campaign, name="Left Out", country="AT", exclude_from_delivery=True)
    session.commit()
    for recipient in ({"embassy": "at-vienna"}, {"body": "ITUC"}):
        response = export(signed_in, purpose="organisers", **recipient)
        header, *rows = parse_csv(response)
        assert header == ["Name", "City", "Country", "Organisation", "Source", "Signed on"]
        assert sorted(row[0] for row in rows) == ["Full Name", "name withheld"]
        assert "Hidden Person" not in response.get_data(as_text=True)
        assert "zhanaozen-to-hand-over" in response.headers["Content-Disposition"]
    assert (
        "to-hand-over-at-vienna-"
        in export(signed_in, embassy="at-vienna").headers["Content-Disposition"]
    )
    # A body's list is named after the body, as its pack is.
    assert (
        "to-hand-over-workers-group-at-the-ilo-cutoff-"
        in export(signed_in, body="Workers' Group at the ILO").headers["Content-Disposition"]
    )
    own = export(signed_in)
    assert "zhanaozen-own-list-" in own.headers["Content-Disposition"]
    assert own.headers["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = parse_csv(own)
    names = {row[header.index("Name")] for row in rows}
    assert {"Full Name", "Hidden Person", "Left Out"} <= names
    exported = audit_entries(session, audit.SIGNATURES_EXPORTED)
    assert [e.detail["for_delivery"] for e in exported] == [True, True, True, True, False]


def test_emails_are_refused_on_a_list_for_an_embassy_or_a_body(session, signed_in, runner):
    for recipient in ({"embassy": "at-vienna"}, {"body": "ITUC"}):
        response = export(signed_in, with_emails="y", **recipient)
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert 'id="with_emails-error"' in html
        assert "A list for an embassy or a body is handed over" in html
    command = ["export", "signatures", "zhanaozen", "--embassy", "at-vienna", "--with-emails"]
    refused = runner.invoke(args=[*command, "-o", "-"])
    assert refused.exit_code != 0
    assert "never holds email addresses" in refused.output
    assert audit_entries(session, audit.SIGNATURES_EXPORTED) == []


# What the organisers' list says in each language: headings, and the words its coded cells
# become (name shown, left out, source).
ORGANISER_LIST_WORDS = {
    "ru": {
        "headings": ("Имя", "Показ имени", "Исключён из передаваемых списков", "Источник"),
        "display": {
            "full": "имя и фамилия",
            "initial": "имя и первая буква фамилии",
            "hidden": "имя скрыто",
        },
        "yes": "да",
        "source": {"online": "онлайн", "paper": "на бумаге"},
    },
    "kk": {
        "headings": ("Аты", "Атының көрсетілуі", "Берілетін тізімдерге енгізілмеген", "Дереккөз"),
        "display": {
            "full": "аты-жөні",
            "initial": "аты және тегінің бас әрпі",  # noqa: RUF001 - Kazakh, not look-alikes
            "hidden": "аты жасырылған",
        },
        "yes": "иә",
        "source": {"online": "онлайн", "paper": "қағазда"},
    },
}
# The stored codes, and the English word for a signer left out: none belongs in a list
# exported in another language.
RAW_CODES = re.compile(r"\b(full|initial|hidden|online|paper|yes)\b")


def coded_signatures(session, campaign) -> None:
    """Three signers, one for each way of showing a name, online and on paper."""
    make_signature(session, campaign, name="Арман Сейітов", display="full")
    paper = make_signature(session, campaign, name="Бота Ахметова", display="initial")
    paper.source = "paper"
    make_signature(
        session, campaign, name="Гүлнар Омарова", display="hidden", exclude_from_delivery=True
    )
    session.commit()


def signed_in_choosing(client, session, language: str):
    """``client``, signed in as a coordinator who chose ``language`` on the site.

    The choice comes before the first request: every request of a test shares the test's
    app context, where Flask-Babel keeps the first locale it works out.
    """
    client.set_cookie("lang", language)
    organiser = make_organiser(session)
    session.commit()
    assert log_in(client, organiser).status_code == 303
    return client


def assert_cells_in(language: str, header: list[str], rows: list[list[str]]) -> None:
    """Each coded cell of ``rows`` holds the word of ``language``, never the stored code."""
    words = ORGANISER_LIST_WORDS[language]
    name_column, shown, left_out, source = (header.index(h) for h in words["headings"])
    by_name = {row[name_column]: row for row in rows}
    assert set(by_name) == {"Арман Сейітов", "Бота Ахметова", "Гүлнар Омарова"}
    expected = {
        "Арман Сейітов": (words["display"]["full"], "", words["source"]["online"]),
        "Бота Ахметова": (words["display"]["initial"], "", words["source"]["paper"]),
        "Гүлнар Омарова": (words["display"]["hidden"], words["yes"], words["source"]["online"]),
    }
    for name, row in by_name.items():
        assert (row[shown], row[left_out], row[source]) == expected[name]
        assert not any(RAW_CODES.search(cell) for cell in row), row


def test_organiser_csv_in_russian_puts_its_codes_into_russian(session, client, campaign):
    coded_signatures(session, campaign)
    response = export(signed_in_choosing(client, session, "ru"))
    assert response.status_code == 200
    header, *rows = parse_csv(response)
    assert_cells_in("ru", header, rows)
    assert not RAW_CODES.search(response.get_data(as_text=True))


def test_organiser_xlsx_with_emails_in_kazakh_puts_its_codes_into_kazakh(session, client, campaign):
    coded_signatures(session, campaign)
    signed_in = signed_in_choosing(client, session, "kk")
    response = export(signed_in, format="xlsx", with_emails="y")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    header, *rows = [
        ["" if cell is None else str(cell) for cell in row]
        for row in sheet.iter_rows(values_only=True)
    ]
    assert "Электрондық пошта" in header  # the email column shifts the others along
    assert_cells_in("kk", header, rows)


def test_organiser_list_from_the_command_line_is_in_its_language(
    app, runner, session, campaign, tmp_path
):
    coded_signatures(session, campaign)
    target = tmp_path / "list.csv"
    result = runner.invoke(
        args=["export", "signatures", "zhanaozen", "--language", "kk", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader(target.open(encoding="utf-8")))
    assert_cells_in("kk", header, rows)


def test_impossible_combinations_are_refused_on_the_form(session, signed_in):
    response = export(signed_in, purpose="delivery", with_emails="y")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="with_emails-error"' in html
    assert "never holds email addresses" in html
    response = export(signed_in, new_only="y")
    assert response.status_code == 400
    assert 'id="embassy-error"' in response.get_data(as_text=True)
    assert audit_entries(session, audit.SIGNATURES_EXPORTED) == []


def test_export_pages_need_a_signed_in_organiser(app, client, session, campaign):
    make_signature(session, campaign, name="Secret Signer")
    session.commit()
    page = client.get(EXPORT)
    assert page.status_code == 302
    assert "/organisers/login" in page.location
    refused = client.post(EXPORT, data={"format": "csv", "purpose": "organisers"})
    assert refused.status_code in (400, 403)
    assert "Secret Signer" not in refused.get_data(as_text=True)
    assert client.post(PACKS, data={"embassy": "*"}).status_code in (400, 403)
    assert audit_entries(session, audit.SIGNATURES_EXPORTED) == []


# --- PDF packs ---------------------------------------------------------------------------


def test_embassy_pack_lists_names_in_every_script_and_omits_emails_and_opt_outs(
    session, signed_in, campaign
):
    make_signature(
        session,
        campaign,
        name="Әсел Қайратқызы",
        email="asel@example.kz",
        country="AT",
        city="Wien",
    )
    make_signature(
        session, campaign, name="Наталья Соколова", email="natalia@example.ru", country="SI"
    )
    make_signature(
        session,
        campaign,
        name="John Smith",
        email="john@example.org",
        country="AT",
        organisation="ÖGB",
    )
    make_signature(session, campaign, name="Hidden Person", display="hidden", country="AT")
    make_signature(
        session,
        campaign,
        name="Opted Out",
        email="out@example.org",
        country="AT",
        exclude_from_delivery=True,
    )
    make_signature(session, campaign, name="Elsewhere Person", country="GB")
    session.commit()

    response = pack(signed_in, embassy="at-vienna")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    pages = pdf_text(response.get_data())
    text = " ".join(pages)
    assert "Embassy of the Republic of Kazakhstan in Austria" in pages[0]
    assert "Free Natalia Sokolova" in pages[0]  # the campaign's demands
    assert "5 signatures in total, of which 4 are listed in this pack." in pages[0]
    assert "1 signer asked not to be named in lists handed to embassies" in pages[0]
    for name in ("Әсел Қайратқызы", "Наталья Соколова", "John Smith", "ÖGB", "name withheld"):
        assert name in text
    for absent in ("Hidden Person", "Opted Out", "Elsewhere Person", "@", "example.org"):
        assert absent not in text
    assert re.search(r"Rows listed 4\b", pages[-1])
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page

    (entry,) = audit_entries(session, audit.PACK_EXPORTED)
    assert entry.count == 4
    assert entry.detail["embassy"] == "at-vienna"
    assert re.fullmatch(r"[0-9a-f]{64}", entry.detail["rows_hash"])


def test_pack_in_russian_and_kazakh_names_countries_in_that_language(session, signed_in, campaign):
    make_signature(session, campaign, name="Ivan Petrov", country="AT")
    session.commit()
    russian = " ".join(pdf_text(pack(signed_in, embassy="at-vienna", language="ru").get_data()))
    assert "Австрия" in russian
    assert "Жаңаөзен" not in russian
    kazakh = " ".join(pdf_text(pack(signed_in, embassy="at-vienna", language="kk").get_data()))
    assert "Жаңаөзен" in kazakh  # the campaign's own Kazakh text


def canonical_hash(rows):
    """The rows hash as the manifest explains it, written out independently."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
    return digest.hexdigest()


def test_manifest_hash_recomputes_from_the_listed_rows(session, signed_in, campaign):
    day = datetime(2026, 5, 1, 9, tzinfo=UTC)
    people = [
        ("Әсел Қайратқызы", "full", "Алматы", "AT", "Профсоюз"),
        ("Наталья Соколова", "initial", "", "AT", ""),
        ("Quiet Signer", "hidden", "Graz", "SI", 'Union "X"'),
    ]
    for offset, (name, display, city, country, organisation) in enumerate(people):
        signature = make_signature(
            session,
            campaign,
            name=name,
            display=display,
            city=city,
            country=country,
            organisation=organisation,
        )
        signature.created_at = day + timedelta(minutes=offset)
        signature.confirmed_at = day + timedelta(hours=1, minutes=offset)
    session.commit()
    expected = canonical_hash(
        [
            ["Әсел Қайратқызы", "Алматы", "AT", "Профсоюз", "online", "2026-05-01"],
            ["Наталья \u0421.", "", "AT", "", "online", "2026-05-01"],  # Cyrillic Es
            ["", "Graz", "SI", 'Union "X"', "online", "2026-05-01"],
        ]
    )
    last = pdf_text(pack(signed_in, embassy="at-vienna").get_data())[-1]
    printed = re.search(r"SHA-256 of the rows ([0-9a-f]{32}) ([0-9a-f]{32})", last)
    assert printed, last
    assert printed.group(1) + printed.group(2) == expected
    assert exports.rows_hash([]) == hashlib.sha256(b"").hexdigest()


def test_long_packs_are_paged_with_page_x_of_y(session, signed_in, campaign):
    bulk_signatures(session, campaign.id, 130, country="AT")
    pages = pdf_text(pack(signed_in, embassy="at-vienna").get_data())
    assert len(pages) >= 5  # letter, at least three pages of signers, manifest
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
    assert "Bulk Signer 0 " in pages[1] and "Bulk Signer 129 " in " ".join(pages[2:-1])
    assert "Rows listed 130" in pages[-1]


def test_every_embassy_gets_its_own_pack_in_a_zip(session, signed_in, campaign):
    make_signature(session, campaign, name="Austrian Signer", country="AT")
    make_signature(session, campaign, name="British Signer", country="GB")
    make_signature(session, campaign, name="Kazakh Signer", country="KZ")  # no embassy at home
    session.commit()
    response = pack(signed_in, embassy="*")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert sorted(archive.namelist()) == ["at-vienna.pdf", "gb-london.pdf"]
    # Each file is dated when it was made, not 1980-01-01.
    today = datetime.now(UTC).timetuple()[:3]
    assert all(info.date_time[:3] == today for info in archive.infolist())
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    london = " ".join(pdf_text(archive.read("gb-london.pdf")))
    assert "British Signer" in london and "Austrian Signer" not in london
    (entry,) = audit_entries(session, audit.PACK_EXPORTED)
    assert (entry.count, entry.detail["packs"]) == (2, 2)


def test_pack_for_a_named_body(session, signed_in, campaign):
    make_signature(session, campaign, name="Kazakh Signer", country="KZ")
    make_signature(
        session, campaign, name="Unlisted Signer", country="KZ", exclude_from_delivery=True
    )
    session.commit()
    pages = pdf_text(pack(signed_in, body="ITUC").get_data())
    assert pages[0].startswith(pages[0].split(" ITUC ")[0])
    assert "ITUC" in pages[0]
    assert "Kazakh Signer" in " ".join(pages)
    assert "Unlisted Signer" not in " ".join(pages)


# --- Command line ------------------------------------------------------------------------


def test_command_line_exports_are_audited(app, runner, session, campaign, tmp_path):
    make_signature(session, campaign, name="Cli Signer", email="cli@example.org", country="AT")
    session.commit()
    target = tmp_path / "list.csv"
    result = runner.invoke(
        args=["export", "signatures", "zhanaozen", "--with-emails", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    header, row = list(csv.reader(target.open(encoding="utf-8")))
    assert row[header.index("Email")] == "cli@example.org"

    pdf = tmp_path / "pack.pdf"
    result = runner.invoke(
        args=[
            "export",
            "pack",
            "zhanaozen",
            "--embassy",
            "at-vienna",
            "--language",
            "ru",
            "-o",
            str(pdf),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Cli Signer" in " ".join(pdf_text(pdf.read_bytes()))

    refused = runner.invoke(
        args=["export", "signatures", "zhanaozen", "--for-delivery", "--with-emails", "-o", "-"]
    )
    assert refused.exit_code != 0
    listed = audit_entries(session, audit.SIGNATURES_EXPORTED)
    packed = audit_entries(session, audit.PACK_EXPORTED)
    assert [(e.detail["via"], e.detail["with_emails"], e.organiser_id) for e in listed] == [
        ("command line", True, None)
    ]
    assert [(e.detail["via"], e.detail["language"]) for e in packed] == [("command line", "ru")]


def test_a_stale_export_form_keeps_its_choices_and_exports_nothing(app, client):
    from campaign.extensions import db

    # Set up in an app context of its own: each request below has its own, as when served.
    with app.app_context():
        organiser = make_organiser(db.session)
        db.session.commit()
    log_in(client, organiser)
    response = export(client, format="xlsx", country="AT", csrf_token="old")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The form was open for too long" in html
    assert re.search(r'<input[^>]*checked[^>]*value="xlsx"', html)
    with app.app_context():
        assert audit_entries(db.session, audit.SIGNATURES_EXPORTED) == []
