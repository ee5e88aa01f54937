"""A printable A4 flyer for protests: title, demands and a QR code to the petition."""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    KeepInFrame,
    ListFlowable,
    ListItem,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from campaign import qrcodes, typefaces

_ACCENT = HexColor("#b3141b")
_MUTED = HexColor("#555555")
_MARGIN = 16 * mm
_QR_SIZE = 55 * mm


@dataclass(frozen=True)
class FlyerText:
    """Everything printed on a flyer, already in the reader's language."""

    lang: str
    title: str
    summary: str
    addressed_to: str
    demands: list[dict[str, str]]
    url: str
    demands_heading: str
    to_label: str
    # Who chose the addressees, printed after them: the campaign's sources name none.
    to_note: str
    scan_label: str
    sign_at_label: str


def render(text: FlyerText) -> bytes:
    """The flyer as PDF bytes, always on one A4 page."""
    regular, bold = typefaces.register_pdf_fonts()
    styles = _styles(regular, bold)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=text.title,
        lang=text.lang,
        creator="campaign",
    )
    story = [
        Paragraph(escape(text.title), styles["title"]),
        Paragraph(escape(text.summary), styles["lead"]),
    ]
    if text.addressed_to:
        story.append(
            Paragraph(
                f"<b>{escape(text.to_label)}</b> {escape(text.addressed_to)}"
                f" {escape(text.to_note)}",
                styles["body"],
            )
        )
    story.append(Paragraph(escape(text.demands_heading), styles["heading"]))
    story.append(
        ListFlowable(
            [
                ListItem(
                    [
                        Paragraph(escape(demand["title"]), styles["demand"]),
                        Paragraph(escape(demand.get("text", "")), styles["body"]),
                    ],
                    value=number,
                )
                for number, demand in enumerate(text.demands, start=1)
            ],
            bulletType="1",
            bulletFontName=bold,
            bulletFontSize=13,
            bulletColor=_ACCENT,
            leftIndent=8 * mm,
        )
    )
    story.append(Spacer(1, 6 * mm))
    story.append(_call_to_sign(text, styles))

    frame_width = A4[0] - 2 * _MARGIN
    frame_height = A4[1] - 2 * _MARGIN
    # Shrinking to fit keeps long translations on the one page a flyer must be.
    doc.build([KeepInFrame(frame_width, frame_height, story, mode="shrink")])
    return out.getvalue()


def _call_to_sign(text: FlyerText, styles: dict[str, ParagraphStyle]) -> Table:
    qr = Image(io.BytesIO(qrcodes.png(text.url, scale=12)), width=_QR_SIZE, height=_QR_SIZE)
    words = [
        Paragraph(escape(text.scan_label), styles["call"]),
        Spacer(1, 3 * mm),
        Paragraph(escape(text.sign_at_label), styles["body"]),
        Paragraph(escape(text.url), styles["url"]),
    ]
    table = Table([[qr, words]], colWidths=[_QR_SIZE + 6 * mm, None])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOX", (0, 0), (-1, -1), 1.5, _ACCENT),
                ("LEFTPADDING", (0, 0), (-1, -1), 4 * mm),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4 * mm),
                ("TOPPADDING", (0, 0), (-1, -1), 3 * mm),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * mm),
            ]
        )
    )
    return table


def _styles(regular: str, bold: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=regular, fontSize=11, leading=15, spaceAfter=4)
    return {
        "body": base,
        "title": ParagraphStyle(
            "title", base, fontName=bold, fontSize=28, leading=33, spaceAfter=10
        ),
        "lead": ParagraphStyle("lead", base, fontSize=14, leading=19, spaceAfter=8),
        "heading": ParagraphStyle(
            "heading",
            base,
            fontName=bold,
            fontSize=17,
            leading=22,
            textColor=_ACCENT,
            spaceBefore=8,
            spaceAfter=6,
        ),
        "demand": ParagraphStyle("demand", base, fontName=bold, fontSize=13, leading=17),
        "call": ParagraphStyle("call", base, fontName=bold, fontSize=18, leading=23),
        "url": ParagraphStyle(
            "url", base, fontName=bold, fontSize=12, leading=16, textColor=_MUTED
        ),
    }
