"""ISO 3166 countries with names in the reader's language."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import cache

import pycountry
from babel import Locale

# The alphabets whose order is not Unicode's: Kazakh's own letters (schwa, ghayn, qaf, eng,
# barred o, the two straight u's, shha, dotted i) sit among the others, not after the last
# Russian one; in both languages yo and short i are letters of their own, not marked ones.
_ALPHABETS = {
    "kk": "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
}
_AFTER_EVERYTHING = 0x110000  # past the last code point: the alphabet's letters sort last


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
    key = sort_key(locale)
    return sorted(pairs, key=lambda pair: key(pair[1]))


@cache
def sort_key(locale: str) -> Callable[[str], tuple[list[int], str]]:
    """A sort key that puts names in ``locale``'s alphabetical order.

    Letters of the language's alphabet sort in its order; other letters sort as their base
    letter (Côte and Åland among the C's and A's), and case and marks only break ties.
    """
    alphabet = _ALPHABETS.get(Locale.parse(locale).language, "")
    rank = {letter: _AFTER_EVERYTHING + number for number, letter in enumerate(alphabet)}

    def key(text: str) -> tuple[list[int], str]:
        folded = text.casefold()
        primary = [
            rank[char] if char in rank else ord(unicodedata.normalize("NFKD", char)[0])
            for char in folded
        ]
        return primary, folded

    return key


def name(code: str, locale: str) -> str:
    """The name of the country ``code`` in ``locale``."""
    return Locale.parse(locale).territories.get(code) or code
