"""Paper signatures: the check writes nothing; the import de-duplicates, counts and audits."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from campaign import audit, counting, paper
from campaign.models import AuditEntry, Campaign, Signature, SignatureStatus
from tests.factories import log_in, make_organiser, make_signature, page_token

PAPER = "/organisers/campaigns/zhanaozen/paper"
IMPORT = "/organisers/campaigns/zhanaozen/paper/import"
EXPORT = "/organisers/campaigns/zhanaozen/export"

SHEET = """name,email,country,city,organisation,date
Әсел Қайратқызы,,KZ,Ақтау,Мұнайшылар кәсіподағы,2026-03-08
Наталья Соколова,natalia@example.org,Russia,Москва,,08.03.2026
John Smith,john@example.org,GB,London,Unite,2026-03-08
,nobody@example.org,GB,London,,2026-03-08
Bad Email,not-an-address,GB,,,2026-03-08
No Country,,,Paris,,2026-03-08
Bad Date,,FR,Paris,,March 8
Future Person,,FR,Paris,,2999-01-01
john smith,,GB,london,,2026-03-08
"""


@pytest.fixture
def signed_in(client, session):
    organiser = make_organiser(session)
    session.commit()
    assert log_in(client, organiser).status_code == 303
    return client


@pytest.fixture
def campaign(session):
    return session.get(Campaign, 1)


def upload(client, text: str | bytes, name: str = "sheet.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        PAPER,
        data={"csrf_token": page_token(client, PAPER), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def sealed(html: str) -> str:
    match = re.search(r'name="sealed" type="hidden" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def confirm(client, html: str, **override):
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    data = {"csrf_token": token, "sealed": sealed(html)}
    data.update(override)
    return client.post(IMPORT, data=data)


def outcome(html: str, line: int) -> str:
    match = re.search(rf'<tr id="line-{line}" class="(\w+)">(.*?)</tr>', html, re.S)
    assert match, line
    return match.group(1) + ": " + " ".join(re.sub(r"<[^>]+>", " ", match.group(2)).split())


def signatures(session) -> list[Signature]:
    session.expire_all()
    return list(session.scalars(select(Signature).order_by(Signature.id)))


def test_check_shows_every_row_and_writes_nothing(session, signed_in, campaign):
    response = upload(signed_in, SHEET)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert outcome(html, 2).startswith("new: 2 Әсел Қайратқызы")
    assert outcome(html, 3).startswith("new: 3 Наталья Соколова natalia@example.org RU")
    assert "2026-03-08" in outcome(html, 3)
    assert outcome(html, 4).startswith("new:")
    assert "The name is missing." in outcome(html, 5)
    assert "The email address is not valid." in outcome(html, 6)
    assert "The country is missing." in outcome(html, 7)
    assert "Write the date as YYYY-MM-DD or DD.MM.YYYY." in outcome(html, 8)
    assert "The date is in the future." in outcome(html, 9)
    # No address: the same name and city as line 4, whatever the case.
    assert outcome(html, 10).startswith("duplicate:")
    assert "New signatures to import: 3. Left out: duplicates 1, rows with errors 5." in html
    assert "Import 3 signatures" in html

    assert signatures(session) == []
    assert (
        session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == audit.PAPER_IMPORTED)
        )
        == 0
    )


def test_import_confirms_counts_marks_paper_and_audits(session, signed_in, campaign):
    before = counting.confirmed_count(session, campaign.id)
    html = upload(signed_in, SHEET).get_data(as_text=True)
    response = confirm(signed_in, html)
    assert response.status_code == 303
    page = signed_in.get(response.location).get_data(as_text=True)
    assert "Paper signatures imported: 3. Left out: duplicates 1, rows with errors 5." in page

    stored = signatures(session)
    assert [s.name for s in stored] == ["Әсел Қайратқызы", "Наталья Соколова", "John Smith"]
    for signature in stored:
        assert signature.source == "paper"
        assert signature.status == SignatureStatus.CONFIRMED
        assert signature.confirmed_at is not None
        assert signature.display == "hidden"
        assert signature.public_name() is None
        assert signature.created_at.date().isoformat() == "2026-03-08"
    asel = stored[0]
    assert (asel.email, asel.country, asel.city, asel.organisation) == (
        "",
        "KZ",
        "Ақтау",
        "Мұнайшылар кәсіподағы",
    )
    assert stored[1].country == "RU"
    session.expire_all()
    assert counting.confirmed_count(session, campaign.id) == before + 3

    (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == audit.PAPER_IMPORTED))
    assert entry.count == 3
    assert (entry.detail["rows"], entry.detail["duplicates"], entry.detail["rejected"]) == (9, 1, 5)
    assert entry.campaign_id == campaign.id and entry.organiser_id is not None

    # Marked as paper in counts and in exports.
    deliveries_page = signed_in.get("/organisers/campaigns/zhanaozen/deliveries").get_data(
        as_text=True
    )
    assert re.search(r'id="count-paper">3<', deliveries_page)
    listed = signed_in.post(
        EXPORT,
        data={
            "format": "csv",
            "purpose": "organisers",
            "csrf_token": page_token(signed_in, EXPORT),
        },
    ).get_data(as_text=True)
    header, *rows = list(csv.reader(io.StringIO(listed)))
    assert {row[header.index("Source")] for row in rows} == {"paper"}


def test_duplicates_of_online_signatures_are_left_out(session, signed_in, campaign):
    make_signature(session, campaign, name="Online Person", email="A.Person+news@gmail.com")
    make_signature(session, campaign, name="Ерлан Досов", email="erlan@example.kz", city="Жаңаөзен")
    session.commit()
    sheet = (
        "Name;Email;Country;City;Organisation;Date\n"
        "Another Spelling;aperson@googlemail.com;GB;;;2026-03-08\n"
        "ЕРЛАН ДОСОВ;;KZ;ЖАҢАӨЗЕН;;2026-03-08\n"
        "Ерлан Досов;;KZ;Ақтау;;2026-03-08\n"
        "Fresh Person;fresh@example.org;GB;;;2026-03-08\n"
        "Fresh Again;FRESH@example.org;GB;;;2026-03-08\n"
    )
    html = upload(signed_in, "\ufeff" + sheet).get_data(as_text=True)
    assert "already signed" in outcome(html, 2)
    assert "Someone with this name and city has already signed." in outcome(html, 3)
    assert outcome(html, 4).startswith("new:")  # same name, another city
    assert outcome(html, 5).startswith("new:")
    assert "Repeats line 5 of this file." in outcome(html, 6)
    assert confirm(signed_in, html).status_code == 303
    names = [s.name for s in signatures(session) if s.source == "paper"]
    assert names == ["Ерлан Досов", "Fresh Person"]

    # The same file again imports nothing.
    again = upload(signed_in, sheet).get_data(as_text=True)
    assert "New signatures to import: 0." in again
    assert "Import" not in re.sub(r"Import paper signatures", "", again.split("check-summary")[1])
    assert [s.name for s in signatures(session) if s.source == "paper"] == names


def test_a_tampered_or_foreign_seal_imports_nothing(app, session, signed_in, campaign):
    html = upload(signed_in, SHEET).get_data(as_text=True)
    forged = paper.seal("name,country,date\nForged Person,GB,2026-03-08\n", campaign.id, 999)
    for value in (sealed(html)[:-3] + "abc", forged):
        response = confirm(signed_in, html, sealed=value)
        assert response.status_code == 400
        assert "expired or was changed" in response.get_data(as_text=True)
    app.config["PAPER_IMPORT_MAX_AGE"] = -1
    assert confirm(signed_in, html).status_code == 400
    assert signatures(session) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"name,country\nX,GB\n", "missing: date"),
        (b"name,email,country,city,organisation,date\n", "no signatures below"),
        ("name,country,date\nJosé,ES,2026-03-08\n".encode("latin-1"), "not UTF-8"),
        # A cell beyond what the csv module reads, within the file size allowed.
        (b"name,email,country,date\nA," + b"x" * 200_000 + b",KZ,2024-01-01\n", "far too long"),
    ],
)
def test_unreadable_files_are_explained_on_the_field(session, signed_in, content, message):
    response = upload(signed_in, content)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    errors = re.search(r'<ul class="errors" id="file-error">(.*?)</ul>', html, re.S)
    assert errors and message in errors.group(1), html
    assert 'aria-describedby="file-error"' in html
    assert signatures(session) == []


def test_files_larger_than_other_forms_are_accepted_up_to_their_own_limit(
    app, session, signed_in, campaign
):
    lines = ["name,email,country,city,organisation,date"]
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    lines += [
        f"Signer Number {i},,GB,City {i},Some trade union branch number {i},{day}"
        for i in range(1500)
    ]
    sheet = "\n".join(lines) + "\n"
    assert len(sheet.encode()) > app.config["MAX_CONTENT_LENGTH"]
    html = upload(signed_in, sheet).get_data(as_text=True)
    assert "New signatures to import: 1500." in html
    assert confirm(signed_in, html).status_code == 303
    assert len(signatures(session)) == 1500

    app.config["PAPER_IMPORT_MAX_BYTES"] = 1024
    too_big = upload(signed_in, sheet)
    assert too_big.status_code in (400, 413)
    app.config["PAPER_IMPORT_MAX_BYTES"] = 1024 * 1024
    app.config["PAPER_IMPORT_MAX_ROWS"] = 100
    too_long = upload(signed_in, sheet)
    assert too_long.status_code == 400
    assert "more than 100 rows" in too_long.get_data(as_text=True)


def test_lines_ended_by_carriage_returns_alone_are_read(session, signed_in):
    # As old spreadsheet programs for the Mac save CSV files.
    response = upload(signed_in, b"name,email,country,date\rAina Bek,,KZ,2024-01-01\r")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Aina Bek" in html
    assert signatures(session) == []  # checked, not imported


def test_paper_pages_need_a_signed_in_organiser(client, session):
    assert client.get(PAPER).status_code == 302
    response = client.post(
        PAPER,
        data={"file": (io.BytesIO(SHEET.encode()), "sheet.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (400, 403)
    assert client.post(IMPORT, data={"sealed": "x"}).status_code in (400, 403)
    assert signatures(session) == []


def test_country_names_in_the_sites_languages():
    assert paper.country_code("kz") == "KZ"
    assert paper.country_code("Kazakhstan") == "KZ"
    assert paper.country_code("Казахстан") == "KZ"
    assert paper.country_code("Қазақстан") == "KZ"
    assert paper.country_code("Atlantis") is None


def test_a_check_without_a_file_asks_for_one(signed_in):
    response = signed_in.post(PAPER, data={"csrf_token": page_token(signed_in, PAPER)})
    assert response.status_code == 400
    assert "Please choose the file to check." in response.get_data(as_text=True)
