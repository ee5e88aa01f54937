"""ISO 3166 countries with names in the reader's language."""

from __future__ import annotations

from functools import cache

import pycountry
from babel import Locale


@cache
def codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code."""
    return frozenset(c.alpha_2 for c in pycountry.countries)


@cache
def choices(locale: str) -> list[tuple[str, str]]:
    """(code, name) pairs for every country, names in ``locale``, sorted for that language."""
    names = Locale.parse(locale).territories
    fallback = Locale.parse("en").territories
    pairs = [(code, names.get(code) or fallback.get(code) or code) for code in codes()]
    return sorted(pairs, key=lambda pair: pair[1].casefold())


def name(code: str, locale: str) -> str:
    """The name of the country ``code`` in ``locale``."""
    return Locale.parse(locale).territories.get(code) or code
