"""The typeface bundled for PDFs and images: DejaVu Sans covers Latin, Cyrillic and Kazakh."""

from __future__ import annotations

from functools import cache
from pathlib import Path

FONTS = Path(__file__).resolve().parent / "fonts"
REGULAR = FONTS / "DejaVuSans.ttf"
BOLD = FONTS / "DejaVuSans-Bold.ttf"


@cache
def register_pdf_fonts() -> tuple[str, str]:
    """Register the typeface with ReportLab once; returns the (regular, bold) font names."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("DejaVuSans", str(REGULAR)))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(BOLD)))
    pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold")
    return "DejaVuSans", "DejaVuSans-Bold"
