"""Geometry of the server-rendered SVG charts: the template draws, this module measures."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Bar:
    """One day's bar, in SVG user units."""

    x: float
    y: float
    width: float
    height: float
    day: date
    value: int


@dataclass(frozen=True)
class Tick:
    """A labelled line across the plot at ``value``."""

    y: float
    value: int


@dataclass(frozen=True)
class BarChart:
    """Everything the template needs to draw a bar chart of values per day."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    bars: list[Bar]
    ticks: list[Tick]
    day_labels: list[tuple[float, date]]
    total: int
    peak: int


def nice_step(peak: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) that covers ``peak`` in about ``ticks``."""
    if peak <= ticks:
        return 1
    raw = peak / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return int(factor * power)
    return int(10 * power)


def bars_per_day(
    points: list[tuple[date, int]], width: int = 720, height: int = 260, labels: int = 6
) -> BarChart:
    """Lay out one bar per day with a value axis of round numbers and a few day labels."""
    left, right, top, bottom = 48.0, width - 12.0, 12.0, height - 36.0
    peak = max((value for _, value in points), default=0)
    step = nice_step(peak)
    ceiling = max(step, math.ceil(peak / step) * step)
    scale = (bottom - top) / ceiling
    slot = (right - left) / max(1, len(points))
    gap = min(2.0, slot * 0.2)
    bars = [
        Bar(
            x=round(left + i * slot + gap / 2, 2),
            y=round(bottom - value * scale, 2),
            width=round(slot - gap, 2),
            height=round(value * scale, 2),
            day=day,
            value=value,
        )
        for i, (day, value) in enumerate(points)
    ]
    ticks = [Tick(round(bottom - v * scale, 2), v) for v in range(0, ceiling + 1, step)]
    every = max(1, math.ceil(len(points) / labels))
    day_labels = [
        (round(left + i * slot + slot / 2, 2), day)
        for i, (day, _) in enumerate(points)
        if (len(points) - 1 - i) % every == 0
    ]
    return BarChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        bars=bars,
        ticks=ticks,
        day_labels=day_labels,
        total=sum(value for _, value in points),
        peak=peak,
    )
