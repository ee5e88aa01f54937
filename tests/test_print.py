"""QR codes and flyers: decoded with a real QR reader, flyer text read back from the PDF."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image, ImageDraw
from pypdf import PdfReader
from sqlalchemy import select

from campaign import sharing
from campaign.models import Campaign, CampaignText

SVG = "{http://www.w3.org/2000/svg}"


def decode(image: Image.Image) -> list[str]:
    """The texts of every QR code zxing-cpp finds in ``image``."""
    return [
        result.text
        for result in zxingcpp.read_barcodes(image)
        if result.format == zxingcpp.BarcodeFormat.QRCode
    ]


def rasterize_svg(data: bytes, scale: int = 8) -> Image.Image:
    """Draw the modules of a segno SVG (horizontal runs in one path) as a bitmap."""
    root = ET.fromstring(data)  # noqa: S314  (the app's own output)
    assert root.tag == f"{SVG}svg"
    path = root.find(f"{SVG}path")
    assert path is not None
    size = int(float(root.get("width"))) // 10  # segno's scale=10 in campaign.qrcodes
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for command, args in re.findall(r"([MmHh])([^MmHh]*)", path.get("d")):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            end = x + numbers[0] if command == "h" else numbers[0]
            row = int(y)
            draw.rectangle(
                (int(x) * scale, row * scale, int(end) * scale - 1, (row + 1) * scale - 1), fill=0
            )
            x = end
    return image


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_campaign_qr_codes_decode_to_the_campaign_in_that_language(client, lang):
    url = f"http://petition.test/{lang}/zhanaozen/"
    png = client.get(f"/{lang}/zhanaozen/qr.png")
    assert png.status_code == 200
    assert png.mimetype == "image/png"
    assert decode(Image.open(io.BytesIO(png.data))) == [url]

    svg = client.get(f"/{lang}/zhanaozen/qr.svg")
    assert svg.status_code == 200
    assert svg.mimetype == "image/svg+xml"
    assert decode(rasterize_svg(svg.data)) == [url]


def test_share_link_qr_codes_decode_to_the_share_link(app, client, session):
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    link = sharing.create_named(session, campaign, "Print shop")
    session.commit()
    url = f"http://petition.test/ru/s/{link.code}"
    png = client.get(f"/ru/s/{link.code}/qr.png")
    assert decode(Image.open(io.BytesIO(png.data))) == [url]
    svg = client.get(f"/ru/s/{link.code}/qr.svg")
    assert decode(rasterize_svg(svg.data)) == [url]
    # Following the decoded address credits the link.
    assert client.get(f"/ru/s/{link.code}").location == f"/ru/zhanaozen/?via={link.code}"


def test_qr_codes_of_other_kinds_are_not_found(client):
    assert client.get("/en/zhanaozen/qr.gif").status_code == 404
    assert client.get("/en/nowhere/qr.png").status_code == 404


def flyer_text(data: bytes) -> tuple[PdfReader, str]:
    """The PDF and its text with whitespace folded, so wrapped lines read as one."""
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    return reader, " ".join(text.split())


def flyer_qr(reader: PdfReader) -> list[str]:
    """What the QR code printed on the flyer's first page decodes to."""
    found = []
    for picture in reader.pages[0].images:
        found += decode(picture.image)
    return found


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_flyer_has_title_demands_and_qr_code_in_the_pages_language(client, session, lang):
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    text = session.scalar(
        select(CampaignText).where(
            CampaignText.campaign_id == campaign.id, CampaignText.locale == lang
        )
    )
    response = client.get(f"/{lang}/zhanaozen/flyer.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader, content = flyer_text(response.data)
    assert len(reader.pages) == 1
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    assert " ".join(text.title.split()) in content
    assert len(text.demands) == 3
    for demand in text.demands:
        assert " ".join(demand["title"].split()) in content
    assert f"http://petition.test/{lang}/zhanaozen/" in content
    assert flyer_qr(reader) == [f"http://petition.test/{lang}/zhanaozen/"]


def test_russian_flyer_is_in_russian(client):
    _reader, content = flyer_text(client.get("/ru/zhanaozen/flyer.pdf").data)
    assert "Свободу Наталье Соколовой!" in content
    assert "Независимое международное расследование событий 16 декабря" in content
    assert "Solidarity with the oil workers" not in content


def test_share_link_flyer_carries_the_links_qr_code(app, client, session):
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    link = sharing.create_named(session, campaign, "Dockers")
    session.commit()
    reader, content = flyer_text(client.get(f"/kk/s/{link.code}/flyer.pdf").data)
    assert "Жаңаөзен мұнайшыларымен ынтымақтастық" in content
    assert flyer_qr(reader) == [f"http://petition.test/kk/s/{link.code}"]


def test_flyer_says_the_organisers_chose_the_addressees(client):
    _reader, content = flyer_text(client.get("/en/zhanaozen/flyer.pdf").data)
    # The source names no addressee: the flyer says who did, as the campaign page does.
    assert (
        "To: The Government of Kazakhstan (via its embassies), the International Trade Union "
        "Confederation (ITUC) and the Workers' Group at the ILO "
        "(chosen by the campaign's organisers)"
    ) in content


def test_downloads_are_named_after_the_campaign_and_the_link(app, client, session):
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    first = sharing.create_named(session, campaign, "Dockers")
    second = sharing.create_named(session, campaign, "Nurses")
    session.commit()

    def filename(path: str) -> str:
        response = client.get(path)
        assert response.status_code == 200, path
        match = re.fullmatch(r'inline; filename="([^"]+)"', response.headers["Content-Disposition"])
        assert match, response.headers["Content-Disposition"]
        return match.group(1)

    assert filename("/ru/zhanaozen/flyer.pdf") == "zhanaozen-ru.pdf"
    assert filename("/ru/zhanaozen/qr.png") == "zhanaozen-qr-ru.png"
    assert filename("/ru/zhanaozen/qr.svg") == "zhanaozen-qr-ru.svg"
    for link in (first, second):
        assert filename(f"/ru/s/{link.code}/flyer.pdf") == f"zhanaozen-link-{link.code}-ru.pdf"
        assert filename(f"/ru/s/{link.code}/qr.png") == f"zhanaozen-link-{link.code}-qr-ru.png"
        assert filename(f"/kk/s/{link.code}/qr.svg") == f"zhanaozen-link-{link.code}-qr-kk.svg"
