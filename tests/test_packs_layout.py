"""Delivery packs as read on paper: the signers' table, counts in words, the recipient's name."""

from __future__ import annotations

import io
import re

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from campaign import audit, countries, embassies, packs
from campaign.models import Campaign, Embassy
from campaign.typefaces import register_pdf_fonts
from tests.factories import make_signature
from tests.test_exports import audit_entries, pack, pdf_text, signed_in_choosing

# The signers' column headings in each language, as the table must show them: whole words.
HEADINGS = {
    "en": ("No.", "Name", "City", "Country", "Organisation", "Signed on", "Source"),
    "ru": ("№", "Имя", "Город", "Страна", "Организация", "Дата подписи", "Источник"),
    "kk": ("№", "Аты", "Қала", "Ел", "Ұйым", "Қол қойылған күні", "Дереккөз"),
}
# Signers whose countries have the longest names of the table's usual rows.
COUNTRIES = ("GB", "US", "AE", "KZ")


@pytest.fixture
def campaign(session):
    return session.get(Campaign, 1)


@pytest.fixture
def organiser_client(client, session):
    return signed_in_choosing(client, session, "en")


def text_runs(data: bytes, page: int) -> list[tuple[str, float, float, bool]]:
    """Each line of text drawn on ``page``: its text, where it starts, and whether it is bold."""
    runs = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            bold = "Bold" in str((font or {}).get("/BaseFont", ""))
            runs.append((text.strip(), cm[4] + tm[4], cm[5] + tm[5], bold))

    PdfReader(io.BytesIO(data)).pages[page].extract_text(visitor_text=visit)
    return runs


def column_words(runs, left: float) -> list[str]:
    """The words of the lines starting at ``left``, top to bottom."""
    lines = sorted((run for run in runs if abs(run[1] - left) < 0.5), key=lambda run: -run[2])
    return [word for text, *_ in lines for word in text.split()]


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_signers_table_splits_no_heading_or_country_name_inside_a_word(
    session, organiser_client, campaign, language
):
    for number, code in enumerate(COUNTRIES):
        make_signature(session, campaign, name=f"Signer {number}", country=code)
    session.commit()
    data = pack(organiser_client, body="ITUC", language=language).get_data()
    runs = text_runs(data, page=1)
    _regular, bold = register_pdf_fonts()

    # Each heading's words stand whole in its own column, wrapped at spaces only.
    headings = [run for run in runs if run[3]]
    lefts = sorted({run[1] for run in headings})
    assert [" ".join(column_words(headings, left)) for left in lefts] == list(HEADINGS[language])
    # And no heading line reaches into the next column.
    for text, left, _y, _bold in headings:
        following = [other for other in lefts if other > left]
        if following:
            assert left + stringWidth(text, bold, packs.FONT_SIZE) < min(following), text

    # The country column holds each country's name word for word, none cut inside a word.
    country_left = lefts[3]
    cells = [run for run in runs if not run[3] and run[2] < min(h[2] for h in headings)]
    expected = [word for code in COUNTRIES for word in countries.name(code, language).split()]
    assert column_words(cells, country_left) == expected


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_columns_are_wider_than_their_widest_heading_word_and_country_word(app, language):
    # The widths decide where ReportLab breaks a line: a word wider than its column is cut.
    regular, bold = register_pdf_fonts()
    with app.test_request_context(), force_locale(language):
        layout = packs._Layout(regular, bold, language)
    room = [width - 2 * packs.PADDING for width in layout.widths]
    assert sum(layout.widths) <= packs.PAGE_WIDTH - 2 * packs.MARGIN + 0.01
    for heading, space in zip(HEADINGS[language], room, strict=True):
        for word in heading.split():
            assert stringWidth(word, bold, packs.FONT_SIZE) <= space, (heading, word)
    # Every country's name, wrapped at its spaces (or after a hyphen), fits word by word.
    for code in countries.codes():
        for word in countries.name(code, language).split():
            for piece in re.split(r"(?<=-)", word):
                assert stringWidth(piece, regular, packs.FONT_SIZE) <= room[3], (code, piece)


def test_english_counts_take_the_singular_for_one(session, organiser_client, campaign):
    make_signature(session, campaign, name="Only Signer", country="AT")
    make_signature(session, campaign, name="Left Out", country="AT", exclude_from_delivery=True)
    session.commit()
    make_signature(session, campaign, name="Second Left Out", exclude_from_delivery=True)
    session.commit()
    # A body is not an embassy: its letter speaks of the lists handed over.
    expected = {
        "embassy": (
            "2 signatures in total, of which 1 is listed in this pack.",
            "1 signer asked not to be named in lists handed to embassies; "
            "their signature is counted in the total.",
        ),
        "body": (
            "3 signatures in total, of which 1 is listed in this pack.",
            "2 signers asked not to be named in lists handed over; "
            "their signatures are counted in the total.",
        ),
    }
    for kind, recipient in (("embassy", "at-vienna"), ("body", "ITUC")):
        letter = pdf_text(pack(organiser_client, **{kind: recipient}).get_data())[0]
        assert all(sentence in letter for sentence in expected[kind]), (kind, letter)
    assert "handed to embassies" not in letter


# What a letter says of its counts in Russian and Kazakh, by (listed, left out): each number
# in the plural form its language gives it.
COUNTS_IN_WORDS = {
    (1, 0): {
        "ru": ["Всего 1 подпись, из них 1 включена в список этого пакета."],  # noqa: RUF001
        "kk": ["Барлығы 1 қолтаңба, оның ішінде 1 қолтаңба осы пакеттің тізіміне енгізілген."],
    },
    (1, 1): {
        "ru": [
            "Всего 2 подписи, из них 1 включена в список этого пакета.",  # noqa: RUF001
            "1 подписавший попросил не называть его в передаваемых списках; "  # noqa: RUF001
            "его подпись учтена в общем числе.",  # noqa: RUF001
        ],
        "kk": [
            "Барлығы 2 қолтаңба, оның ішінде 1 қолтаңба осы пакеттің тізіміне енгізілген.",
            "1 қол қоюшы берілетін тізімдерде атының аталмауын сұрады; "
            "оның қолтаңбасы жалпы санға қосылған.",
        ],
    },
    (3, 2): {
        "ru": [
            "Всего 5 подписей, из них 3 включены в список этого пакета.",  # noqa: RUF001
            "2 подписавших попросили не называть их в передаваемых списках; "
            "их подписи учтены в общем числе.",
        ],
        "kk": [
            "Барлығы 5 қолтаңба, оның ішінде 3 қолтаңба осы пакеттің тізіміне енгізілген.",
            "2 қол қоюшы берілетін тізімдерде атының аталмауын сұрады; "
            "олардың қолтаңбалары жалпы санға қосылған.",
        ],
    },
}


@pytest.mark.parametrize(("listed", "left_out"), list(COUNTS_IN_WORDS))
def test_russian_and_kazakh_counts_take_their_plural_forms(
    session, organiser_client, campaign, listed, left_out
):
    for number in range(listed):
        make_signature(session, campaign, name=f"Listed {number}", country="KZ")
    for number in range(left_out):
        make_signature(session, campaign, name=f"Out {number}", exclude_from_delivery=True)
    session.commit()
    for language, sentences in COUNTS_IN_WORDS[listed, left_out].items():
        letter = pdf_text(pack(organiser_client, body="ITUC", language=language).get_data())[0]
        for sentence in sentences:
            assert sentence in letter, (language, letter)


def test_the_recipient_embassy_is_named_in_the_packs_language(session, organiser_client, campaign):
    make_signature(session, campaign, name="British Signer", country="GB", city="Leeds")
    session.commit()
    names = {
        "en": "Embassy of the Republic of Kazakhstan in the United Kingdom",
        "ru": "Посольство Республики Казахстан (Великобритания)",
        "kk": "Қазақстан Республикасының елшілігі (Ұлыбритания)",
    }
    printed = {}
    for language, name in names.items():
        pages = pdf_text(pack(organiser_client, embassy="gb-london", language=language).get_data())
        assert name in pages[0]  # the letter's addressee
        assert name in pages[-1]  # the manifest's recipient
        if language != "en":
            assert "Embassy of" not in " ".join(pages)
        printed[language] = re.search(r"([0-9a-f]{32}) ([0-9a-f]{32})", pages[-1]).groups()
    # The rows are hashed as they are listed, whatever the language of the pack's words.
    hashes = {"".join(halves) for halves in printed.values()}
    assert hashes == {
        entry.detail["rows_hash"] for entry in audit_entries(session, audit.PACK_EXPORTED)
    }
    assert len(hashes) == 1


def test_a_mission_named_otherwise_keeps_its_own_name(app):
    consulate = Embassy(key="de-consulate", name="Consulate General in Frankfurt", country="DE")
    london = Embassy(
        key="gb-london",
        name="Embassy of the Republic of Kazakhstan in the United Kingdom",
        country="GB",
    )
    with app.test_request_context():
        assert embassies.name_in(consulate, "ru") == "Consulate General in Frankfurt"
        assert embassies.name_in(london, "en") == london.name
        assert embassies.name_in(london, "ru") == (
            "Посольство Республики Казахстан (Великобритания)"
        )


def test_chinese_japanese_and_korean_names_are_set_in_fonts_that_have_them(
    session, organiser_client, campaign
):
    # DejaVu Sans has no such letters: they were empty boxes, while the rows hash counted
    # the real names. Each run of them is set in an Asian font every PDF reader supplies.
    signers = [("李明", "北京"), ("김민수", "서울"), ("山田 はなこ", "Osaka"), ("Ада Lovelace", "")]
    for name, city in signers:
        make_signature(session, campaign, name=name, city=city, display="full", country="AT")
    session.commit()
    data = pack(organiser_client, embassy="at-vienna").get_data()
    text = " ".join(pdf_text(data))
    for name, city in signers:
        assert name in text and city in text, (name, city)
    fonts = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]).lstrip("/").split("+")[-1])
    assert {"STSong-Light", "HYSMyeongJo-Medium", "HeiseiMin-W3", "DejaVuSans"} <= fonts


def test_names_in_the_typeface_s_own_letters_stay_plain_text(app):
    from campaign import typefaces

    with app.app_context():
        assert typefaces.covered("Әсел Қайратқызы <&> Ada")
        assert typefaces.pdf_markup("Ada <李> 明") == (
            'Ada &lt;<font name="STSong-Light">李</font>&gt; <font name="STSong-Light">明</font>'
        )
        # A script none of the Asian fonts has is left to the typeface, not sent to one.
        assert typefaces.pdf_markup("नमस्ते") == "नमस्ते"
