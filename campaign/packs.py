"""PDF delivery packs: a cover letter, the signers in a paged table, and a manifest.

The signers' rows come from ``exports.rows`` and are laid out as they stream in: the
table is made of small chunks that ReportLab takes one at a time, so a pack of any size
is built without holding its rows in memory. Page totals ("page 3 of 2,412") are drawn
from a PDF form object filled in once the last page is known.
"""

from __future__ import annotations

import math
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import IO, Any
from xml.sax.saxutils import escape

from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfdoc import PDFArray, PDFName, PDFStream
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from sqlalchemy.orm import Session

from campaign import countries, embassies, exports, typefaces
from campaign.campaigns import text_for
from campaign.deliveries import CUTOFF_FORMAT, Recipient, cutoff_now
from campaign.models import Campaign, utcnow
from campaign.typefaces import register_pdf_fonts

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 42
FOOTER_HEIGHT = 28
FONT_SIZE = 8
LEADING = 10
# Space between a cell's text and its column's edges, on either side.
PADDING = 3
# Rows per table chunk: small enough to lay out quickly, large enough to be few.
CHUNK = 50
# The signers' columns: No., name, city, country, organisation, signed on, source. Those
# with a share divide what the others leave of the width between the margins; the others
# are as wide as the widest word they can hold (see _Layout.column_widths).
SHARES = (0, 118, 72, 0, 112, 0, 0)
# The widest row number and date a column is made wide enough for.
WIDEST_NUMBER = "888888"
WIDEST_DATE = "8888-88-88"
PAGES_FORM = "pack-page-total"


@dataclass(frozen=True)
class Pack:
    """What a built pack says: the totals in its letter and the figures of its manifest."""

    counts: exports.Counts
    row_count: int
    rows_hash: str
    cutoff: datetime | None


def build(
    session: Session,
    campaign: Campaign,
    recipient: Recipient,
    selection: exports.Selection,
    language: str,
    output: IO[bytes],
    *,
    on: date | None = None,
    total: int | None = None,
) -> Pack:
    """Write the pack of ``selection`` for ``recipient`` in ``language`` to ``output``.

    ``total``, when given, is the number of signatures the pack says it counts (a recorded
    delivery's); otherwise those of ``selection`` are counted now.
    """
    regular, bold = register_pdf_fonts()
    with force_locale(language):
        layout = _Layout(regular, bold, language)
        counts = exports.count(session, selection)
        if total is not None:
            counts = exports.Counts(total=max(total, counts.listed), listed=counts.listed)
        manifest = exports.Manifest()
        made = cutoff_now()
        cutoff = selection.until or made
        text = text_for(campaign, language)
        doc = BaseDocTemplate(
            output,
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN + FOOTER_HEIGHT,
            title=text.title,
            subject=layout.recipient_name(recipient),
            creator="",
            producer="",
            author="",
        )
        letter_frame = Frame(
            MARGIN, MARGIN + FOOTER_HEIGHT, doc.width, doc.height, id="letter", showBoundary=0
        )
        list_frame = Frame(
            MARGIN,
            MARGIN + FOOTER_HEIGHT,
            doc.width,
            doc.height - layout.header_height,
            id="list",
            showBoundary=0,
            leftPadding=0,
            rightPadding=0,
        )
        doc.addPageTemplates(
            [
                PageTemplate("letter", [letter_frame], onPage=layout.footer),
                PageTemplate("list", [list_frame], onPage=layout.list_page),
            ]
        )
        flowables = layout.flowables(
            session,
            text,
            recipient,
            selection,
            counts,
            manifest,
            on=on or made.date(),
            cutoff=cutoff,
            made=made,
        )
        doc.build(_OnDemand(flowables), canvasmaker=layout.canvas_maker())
    return Pack(counts=counts, row_count=manifest.count, rows_hash=manifest.sha256, cutoff=cutoff)


def build_zip(
    session: Session,
    campaign: Campaign,
    packs: Sequence[tuple[Recipient, exports.Selection]],
    language: str,
    output: IO[bytes],
) -> list[tuple[Recipient, Pack]]:
    """One pack per recipient that has signatures, each a PDF in a zip written to ``output``."""
    built = []
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for recipient, selection in packs:
            if exports.count(session, selection).total == 0:
                continue
            with tempfile.TemporaryFile() as pdf:
                pack = build(session, campaign, recipient, selection, language, pdf)
                pdf.seek(0)
                name = recipient.embassy.key if recipient.embassy else "pack"
                # Dated when made (UTC), not 1980 as a member opened by name would be.
                member_info = zipfile.ZipInfo(f"{name}.pdf", date_time=utcnow().timetuple()[:6])
                member_info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(member_info, "w") as member:
                    while chunk := pdf.read(1 << 16):
                        member.write(chunk)
            built.append((recipient, pack))
    return built


class _OnDemand(list):
    """Flowables made only when ReportLab reaches them.

    ReportLab takes flowables from the front of a list and asks for its length before
    each one; topping the list up there keeps just a few of them in memory at a time.
    """

    def __init__(self, source: Iterator[Flowable], ahead: int = 3) -> None:
        super().__init__()
        self._source = source
        self._ahead = ahead

    def __len__(self) -> int:
        while list.__len__(self) < self._ahead:
            following = next(self._source, None)
            if following is None:
                break
            self.append(following)
        return list.__len__(self)


def _moment(value: datetime) -> str:
    return value.strftime(f"{CUTOFF_FORMAT} UTC")


def _words(text: str) -> list[str]:
    """The pieces a paragraph may break ``text`` into: its words, split after hyphens."""
    return [piece for word in text.split() for piece in re.split(r"(?<=-)", word) if piece]


@cache
def _widest_country_word(language: str, font: str) -> float:
    """The width of the widest word of any country's name in ``language``."""
    return max(
        stringWidth(word, font, FONT_SIZE)
        for code in countries.codes()
        for word in _words(countries.name(code, language))
    )


class _Layout:
    """Styles, texts and drawing of one pack in one language."""

    def __init__(self, regular: str, bold: str, language: str) -> None:
        self.regular = regular
        self.bold = bold
        self.language = language
        self.body = ParagraphStyle("body", fontName=regular, fontSize=10.5, leading=14.5)
        self.small = ParagraphStyle("small", parent=self.body, fontSize=8.5, leading=11)
        self.heading = ParagraphStyle(
            "heading", parent=self.body, fontName=bold, fontSize=13, leading=17, spaceAfter=6
        )
        self.right = ParagraphStyle("right", parent=self.body, alignment=TA_RIGHT)
        # Lines break at spaces and after hyphens; a word is cut only when it is wider than
        # its column, which a country's name or a column heading never is.
        self.cell = ParagraphStyle(
            "cell", fontName=regular, fontSize=FONT_SIZE, leading=LEADING, embeddedHyphenation=1
        )
        self.column_heading = ParagraphStyle("column", parent=self.cell, fontName=bold)
        self.headings = [
            _("No."),
            _("Name"),
            _("City"),
            _("Country"),
            _("Organisation"),
            _("Signed on"),
            _("Source"),
        ]
        self.withheld = _("name withheld")
        self.sources = {"paper": _("paper"), "online": _("online")}
        self.page_words = _("Page %(page)s of %(pages)s")
        self.widths = self.column_widths()
        self.heading_cells = [
            Paragraph(escape(heading), self.column_heading) for heading in self.headings
        ]
        heights = [
            cell.wrap(width - 2 * PADDING, PAGE_HEIGHT)[1]
            for cell, width in zip(self.heading_cells, self.widths, strict=True)
        ]
        self.headings_height = max(heights)
        # The headings, the rule below them and a little air: the list's frame starts lower.
        self.header_height = self.headings_height + 4
        self.table_style = TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), regular, FONT_SIZE, LEADING),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, "#bbbbbb"),
                ("LEFTPADDING", (0, 0), (-1, -1), PADDING),
                ("RIGHTPADDING", (0, 0), (-1, -1), PADDING),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )

    def number(self, value: int) -> str:
        """A count written the way the pack's language writes numbers."""
        return format_decimal(value, locale=self.language)

    def column_widths(self) -> tuple[float, ...]:
        """The signers' columns, none narrower than its heading's widest word.

        Number, country, date and source are as wide as the widest word they may hold (the
        country's as wide as the widest word of any country's name in the pack's language);
        name, city and organisation share the rest of the width between the margins.
        """

        def widest(words: list[str]) -> float:
            return max((stringWidth(word, self.regular, FONT_SIZE) for word in words), default=0)

        held = [
            widest([WIDEST_NUMBER]),
            0,
            0,
            _widest_country_word(self.language, self.regular),
            0,
            widest([WIDEST_DATE]),
            widest(_words(" ".join(self.sources.values()))),
        ]
        least = [
            math.ceil(
                max(held_width, *(stringWidth(w, self.bold, FONT_SIZE) for w in _words(heading)))
                + 2 * PADDING
            )
            for heading, held_width in zip(self.headings, held, strict=True)
        ]
        fixed = sum(width for width, share in zip(least, SHARES, strict=True) if not share)
        left = PAGE_WIDTH - 2 * MARGIN - fixed
        return tuple(
            max(width, left * share / sum(SHARES)) if share else width
            for width, share in zip(least, SHARES, strict=True)
        )

    def recipient_name(self, recipient: Recipient) -> str:
        """The recipient as the pack's language names it."""
        if recipient.embassy is None:
            return recipient.body
        return embassies.name_in(recipient.embassy, self.language)

    def flowables(
        self,
        session: Session,
        text: Any,
        recipient: Recipient,
        selection: exports.Selection,
        counts: exports.Counts,
        manifest: exports.Manifest,
        *,
        on: date,
        cutoff: datetime,
        made: datetime,
    ) -> Iterator[Flowable]:
        """The pack from top to bottom, the signers' rows read as ReportLab reaches them."""
        yield from self.letter(text, recipient, selection, counts, on=on, cutoff=cutoff)
        yield NextPageTemplate("list")
        yield PageBreak()
        block: list[list[Any]] = []
        for row in exports.rows(session, selection):
            values = manifest.add(row)
            block.append(self.cells(manifest.count, values))
            if len(block) == CHUNK:
                yield self.table(block)
                block = []
        if block:
            yield self.table(block)
        if manifest.count == 0:
            yield Paragraph(escape(_("No signer is listed in this pack.")), self.body)
        yield NextPageTemplate("letter")
        yield PageBreak()
        yield from self.manifest(recipient, manifest, cutoff=cutoff, made=made)

    def letter(
        self,
        text: Any,
        recipient: Recipient,
        selection: exports.Selection,
        counts: exports.Counts,
        *,
        on: date,
        cutoff: datetime,
    ) -> Iterator[Flowable]:
        """The cover letter: addressee, date, the campaign's demands and the totals."""
        yield Paragraph(escape(format_date(on, "long", locale=self.language)), self.right)
        yield Spacer(0, 12)
        for line in self.address(recipient):
            yield Paragraph(escape(line), self.body)
        yield Spacer(0, 18)
        yield Paragraph(escape(text.title), self.heading)
        if text.addressed_to:
            yield Paragraph(
                escape(
                    _("This petition is addressed to: %(addressee)s", addressee=text.addressed_to)
                ),
                self.body,
            )
            yield Spacer(0, 6)
        yield Paragraph(escape(text.summary), self.body)
        yield Spacer(0, 10)
        yield Paragraph(escape(_("The signers demand:")), self.heading)
        for number, demand in enumerate(text.demands or [], start=1):
            title = escape(str(demand.get("title", "")))
            body = escape(str(demand.get("text", "")))
            yield Paragraph(f"<b>{number}. {title}</b><br/>{body}", self.body)
            yield Spacer(0, 6)
        yield Spacer(0, 8)
        # Each number takes its own plural form, so the listed one is a clause of its own.
        listed = ngettext(
            "%(count)s is listed in this pack",
            "%(count)s are listed in this pack",
            counts.listed,
            count=self.number(counts.listed),
        )
        totals = ngettext(
            "%(count)s signature in total, of which %(listed)s.",
            "%(count)s signatures in total, of which %(listed)s.",
            counts.total,
            count=self.number(counts.total),
            listed=listed,
        )
        yield Paragraph(escape(totals), self.body)
        if counts.withheld:
            yield Paragraph(escape(self.withheld_words(recipient, counts.withheld)), self.body)
        if selection.after is not None:
            scope = _(
                "Signatures confirmed up to %(until)s that were not in the previous "
                "deliveries to this recipient (the last one covered signatures confirmed "
                "up to %(after)s).",
                after=_moment(selection.after),
                until=_moment(cutoff),
            )
        else:
            scope = _("Signatures confirmed up to %(until)s.", until=_moment(cutoff))
        yield Paragraph(escape(scope), self.body)
        yield Paragraph(
            escape(
                _(
                    "Names appear as each signer allowed; the others are marked “%(withheld)s”.",
                    withheld=self.withheld,
                )
            ),
            self.small,
        )

    def withheld_words(self, recipient: Recipient, withheld: int) -> str:
        """The letter's sentence on the signers left out of the list, counted in the total."""
        count = self.number(withheld)
        if recipient.embassy is not None:
            return ngettext(
                "%(count)s signer asked not to be named in lists handed to embassies; "
                "their signature is counted in the total.",
                "%(count)s signers asked not to be named in lists handed to embassies; "
                "their signatures are counted in the total.",
                withheld,
                count=count,
            )
        return ngettext(
            "%(count)s signer asked not to be named in lists handed over; "
            "their signature is counted in the total.",
            "%(count)s signers asked not to be named in lists handed over; "
            "their signatures are counted in the total.",
            withheld,
            count=count,
        )

    def address(self, recipient: Recipient) -> list[str]:
        """The addressee block of the letter."""
        embassy = recipient.embassy
        if embassy is None:
            return [recipient.body]
        lines = [self.recipient_name(recipient)]
        lines += [line.strip() for line in embassy.address.splitlines() if line.strip()]
        place = ", ".join(
            part for part in (embassy.city, countries.name(embassy.country, self.language)) if part
        )
        if place:
            lines.append(place)
        return lines

    def cells(self, number: int, values: list[str]) -> list[Any]:
        """One table row: the number, then the canonical values as they read in the pack."""
        name, city, country, organisation, source, signed_on = values
        shown = [
            str(number),
            name or self.withheld,
            city,
            countries.name(country, self.language),
            organisation,
            signed_on,
            self.sources.get(source, source),
        ]
        return [self.fit(value, width) for value, width in zip(shown, self.widths, strict=True)]

    def fit(self, value: str, width: float) -> Any:
        """The value as plain text when it fits its column, else as a wrapping paragraph.

        A name in letters the typeface lacks (Chinese, Japanese, Korean) is a paragraph
        that sets them in an Asian font.
        """
        if not typefaces.covered(value):
            return Paragraph(typefaces.pdf_markup(value), self.cell)
        if stringWidth(value, self.regular, FONT_SIZE) <= width - 2 * PADDING:
            return value
        return Paragraph(escape(value), self.cell)

    def table(self, block: list[list[Any]]) -> Table:
        """A chunk of the signers' table."""
        table = Table(block, colWidths=self.widths, style=self.table_style, hAlign="LEFT")
        return table

    def manifest(
        self,
        recipient: Recipient,
        manifest: exports.Manifest,
        *,
        cutoff: datetime,
        made: datetime,
    ) -> Iterator[Flowable]:
        """The last page: the count and the hash of the rows, and how to check them."""
        yield Paragraph(escape(_("Manifest")), self.heading)
        digest = manifest.sha256
        facts = [
            [_("Recipient"), self.recipient_name(recipient)],
            [_("Rows listed"), self.number(manifest.count)],
            [_("SHA-256 of the rows"), f"{digest[:32]} {digest[32:]}"],
            [_("Signatures confirmed up to"), _moment(cutoff)],
            [_("Pack made"), _moment(made)],
        ]
        yield Table(
            [[Paragraph(escape(k), self.body), Paragraph(escape(v), self.body)] for k, v in facts],
            colWidths=(180, PAGE_WIDTH - 2 * MARGIN - 180),
            style=TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (0, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ]
            ),
            hAlign="LEFT",
        )
        yield Spacer(0, 12)
        yield Paragraph(
            escape(
                _(
                    "How to check: write each listed row, in the order of this pack, as a JSON "
                    "array of six strings: the name as shown (an empty string where it is "
                    "withheld), city, two-letter country code, organisation, “online” or "
                    "“paper”, and the date of signing as YYYY-MM-DD. Write the arrays without "
                    "spaces between the items, each followed by one line feed, all in UTF-8. "
                    "The SHA-256 of these bytes is the hash above."
                )
            ),
            self.small,
        )

    def footer(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        """Draw the page number and the total, which a form fills in at the end."""
        canvas.saveState()
        canvas.setFont(self.regular, FONT_SIZE)
        before, _sep, after = self.page_words.partition("%(pages)s")
        start = before % {"page": self.number(doc.page)} if "%(page)s" in before else before
        x = PAGE_WIDTH - MARGIN - 130
        y = MARGIN
        canvas.drawString(x, y, start)
        x += stringWidth(start, self.regular, FONT_SIZE)
        canvas.saveState()
        canvas.translate(x, y)
        canvas.doForm(PAGES_FORM)
        canvas.restoreState()
        if after:
            rest = after % {"page": self.number(doc.page)} if "%(page)s" in after else after
            canvas.drawString(x + self.total_width, y, rest)
        canvas.restoreState()

    @property
    def total_width(self) -> float:
        """Room kept for the page total: five digits with a group separator."""
        return stringWidth(self.number(88888), self.regular, FONT_SIZE)

    def list_page(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        """A page of the signers' table: the column headings on top, the footer below."""
        canvas.saveState()
        # Headings wrap at spaces within their columns and stand on a common bottom line.
        x = MARGIN
        for cell, width in zip(self.heading_cells, self.widths, strict=True):
            cell.drawOn(canvas, x + PADDING, PAGE_HEIGHT - MARGIN - self.headings_height)
            x += width
        rule = PAGE_HEIGHT - MARGIN - self.headings_height - 2
        canvas.setLineWidth(0.75)
        canvas.line(MARGIN, rule, PAGE_WIDTH - MARGIN, rule)
        canvas.restoreState()
        self.footer(canvas, doc)

    def canvas_maker(self) -> type[Canvas]:
        """A canvas that writes the number of pages into the page-total form when saved."""
        layout = self

        class PackCanvas(Canvas):
            def showPage(self) -> None:
                super().showPage()
                # ReportLab keeps every finished page uncompressed until the file is
                # saved; compressed now, a pack of thousands of pages stays small.
                page = self._doc.Pages.pages[-1]
                if page.stream and page.compression and not page.Contents:
                    contents = PDFStream(content=zlib.compress(page.stream.encode("utf8")))
                    contents.dictionary["Filter"] = PDFArray([PDFName("FlateDecode")])
                    page.Contents = contents
                    page.stream = None

            def save(self) -> None:
                pages = self.getPageNumber() - (0 if self._code else 1)
                self.beginForm(PAGES_FORM)
                self.setFont(layout.regular, FONT_SIZE)
                self.drawString(0, 0, layout.number(pages))
                self.endForm()
                super().save()

        return PackCanvas
