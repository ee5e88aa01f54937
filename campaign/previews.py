"""Link-preview images (Open Graph, Twitter Card): title, count and progress on a 1200x630 PNG."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from PIL import Image, ImageDraw, ImageFont

from campaign import typefaces

WIDTH, HEIGHT = 1200, 630
_MARGIN = 72
_PAPER = (244, 241, 236)
_INK = (27, 27, 27)
_MUTED = (85, 85, 85)
_ACCENT = (179, 20, 27)
_TRACK = (220, 212, 200)
_TITLE_TOP = 64
BAR_TOP = HEIGHT - 150
BAR_HEIGHT = 36
# Room for the title above the count: 4 lines at 64 px fit, 3 at 72 px.
_TITLE_HEIGHT = 320


@dataclass(frozen=True)
class PreviewText:
    """The words on a preview, already in the reader's language."""

    title: str
    count: str
    goal: str
    fraction: float
    site: str


def render(text: PreviewText) -> bytes:
    """The preview as PNG bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), _PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 16), fill=_ACCENT)
    width = WIDTH - 2 * _MARGIN

    title_font, lines = _fit_title(draw, text.title, width, _TITLE_HEIGHT)
    y = _TITLE_TOP
    for line in lines:
        draw.text((_MARGIN, y), line, font=title_font, fill=_INK)
        y += int(title_font.size * 1.2)

    count_font = ImageFont.truetype(str(typefaces.BOLD), 56)
    small = ImageFont.truetype(str(typefaces.REGULAR), 30)
    bar_top = BAR_TOP
    draw.text((_MARGIN, bar_top - 80), text.count, font=count_font, fill=_ACCENT)
    draw.rounded_rectangle(
        (_MARGIN, bar_top, WIDTH - _MARGIN, bar_top + BAR_HEIGHT),
        radius=BAR_HEIGHT // 2,
        fill=_TRACK,
    )
    filled = int(width * max(0.0, min(1.0, text.fraction)))
    if filled > 0:
        draw.rounded_rectangle(
            (_MARGIN, bar_top, _MARGIN + max(filled, BAR_HEIGHT), bar_top + BAR_HEIGHT),
            radius=BAR_HEIGHT // 2,
            fill=_ACCENT,
        )
    goal_at, site_at = footer_positions(draw, text.goal, text.site, small)
    draw.text(goal_at, text.goal, font=small, fill=_MUTED)
    draw.text(site_at, text.site, font=small, fill=_MUTED)

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def footer_positions(
    draw: ImageDraw.ImageDraw, goal: str, site: str, font: ImageFont.FreeTypeFont
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the goal (left) and the site's name (right) go under the bar.

    On one line when both fit with room between them; else the site's name goes on a line
    of its own below, as a long goal in Russian or Kazakh and a long domain would meet.
    """
    line = BAR_TOP + 56
    site_width = draw.textlength(site, font=font)
    room = WIDTH - 2 * _MARGIN - draw.textlength(goal, font=font) - site_width
    site_line = line if room >= 40 else line + 44
    return (_MARGIN, line), (WIDTH - _MARGIN - site_width, site_line)


def _fit_title(
    draw: ImageDraw.ImageDraw, title: str, width: int, height: int
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest bold size at which the title fits the box, and its lines."""
    for size in (72, 64, 56, 48, 42, 36):
        font = ImageFont.truetype(str(typefaces.BOLD), size)
        lines = _wrap(draw, title, font, width)
        if len(lines) * int(size * 1.2) <= height:
            return font, lines
    room = height // int(font.size * 1.2)
    return font, [*lines[: room - 1], lines[room - 1].rstrip(".,;: ") + "…"]


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int
) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and draw.textlength(candidate, font=font) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


class PreviewCache:
    """Rendered previews kept in memory per campaign and language, redrawn when they age."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[int, str], tuple[float, bytes]] = {}

    def get(
        self, campaign_id: int, lang: str, max_age: float, make: Callable[[], PreviewText]
    ) -> bytes:
        """The cached PNG, or a fresh one when none is younger than ``max_age`` seconds."""
        key = (campaign_id, lang)
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] < max_age:
                return entry[1]
        png = render(make())
        with self._lock:
            self._entries[key] = (now, png)
        return png


def cache_for(app: Flask) -> PreviewCache:
    """The preview cache of ``app``, one per application."""
    return app.extensions.setdefault("previews", PreviewCache())
