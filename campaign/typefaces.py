"""The typeface bundled for PDFs and images: DejaVu Sans covers Latin, Cyrillic and Kazakh.

Names in Chinese, Japanese or Korean letters, which it lacks, are set in a PDF in one of
the Adobe Asian fonts that every PDF reader supplies (ReportLab's CID fonts, not embedded),
rather than as empty boxes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

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


# Which Asian font sets a character DejaVu Sans lacks: Korean syllables and letters,
# Japanese kana, and Chinese characters (which Japanese shares) with the CJK punctuation and
# full-width forms. Other scripts it lacks (Devanagari, Thai, …) no font here draws.
_HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF))
_KANA = ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF65, 0xFF9F))
_HAN = ((0x2E80, 0x2FDF), (0x3000, 0x303F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
        (0xF900, 0xFAFF), (0xFF00, 0xFF64), (0x20000, 0x2FA1F))  # fmt: skip
_KOREAN, _JAPANESE, _CHINESE = "HYSMyeongJo-Medium", "HeiseiMin-W3", "STSong-Light"


@cache
def _pdf_coverage() -> frozenset[int]:
    """The characters the regular PDF typeface can draw."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    regular, _bold = register_pdf_fonts()
    for name in (_KOREAN, _JAPANESE, _CHINESE):
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    return frozenset(pdfmetrics.getFont(regular).face.charToGlyph)


def _asian_font(ch: str) -> str:
    """The Asian font that draws ``ch``; "" for a character none of them has."""
    code = ord(ch)
    for font, ranges in ((_KOREAN, _HANGUL), (_JAPANESE, _KANA), (_CHINESE, _HAN)):
        if any(low <= code <= high for low, high in ranges):
            return font
    return ""


def covered(text: str) -> bool:
    """Whether the regular PDF typeface draws every character of ``text``."""
    coverage = _pdf_coverage()
    return all(ord(ch) in coverage or ch.isspace() for ch in text)


def pdf_markup(text: str) -> str:
    """``text`` as ReportLab paragraph markup, each run the typeface lacks in an Asian font."""
    coverage = _pdf_coverage()
    runs: list[tuple[str, str]] = []  # (font, text); font "" for the typeface's own
    for ch in text:
        font = "" if ord(ch) in coverage or ch.isspace() else _asian_font(ch)
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + ch)
        else:
            runs.append((font, ch))
    return "".join(
        f'<font name="{font}">{escape(run)}</font>' if font else escape(run) for font, run in runs
    )
