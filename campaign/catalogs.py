"""Message catalogs: extracting the strings to translate, updating and compiling the catalogs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
TRANSLATIONS = PACKAGE / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
MAPPING = ROOT / "babel.cfg"
# Babel's defaults (_, gettext, ngettext, ...) and the names the code uses at import time.
KEYWORDS = ("_l", "lazy_gettext")


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(output: Path = TEMPLATE) -> None:
    """Write every translatable string of the Python code and templates into ``output``."""
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    _pybabel(
        "extract",
        "-F",
        str(MAPPING),
        *keywords,
        "--no-location",
        "--sort-output",
        "--project",
        "campaign",
        "-o",
        str(output),
        # The mapping's patterns (campaign/**.py, templates/**.html) are relative to the root.
        str(ROOT),
    )


def update(template: Path = TEMPLATE, directory: Path = TRANSLATIONS) -> None:
    """Merge new and changed strings of ``template`` into each language's catalog."""
    _pybabel("update", "-i", str(template), "-d", str(directory), "--ignore-obsolete")


def missing(languages: Iterable[str], directory: Path | None = None) -> list[str]:
    """The languages of ``languages`` whose compiled catalog (.mo) is not there.

    The .mo files are built, not kept in the repository: an install that skipped
    compiling them (``pybabel compile``, which needs no app) would show Russian and Kazakh
    readers the English words.
    """
    directory = directory or TRANSLATIONS
    return [
        lang
        for lang in languages
        if not (directory / lang / "LC_MESSAGES" / "messages.mo").is_file()
    ]


def compile_all(directory: Path = TRANSLATIONS) -> None:
    """Build the .mo files the app reads from the .po catalogs, as dev.py does."""
    _pybabel("compile", "--use-fuzzy", "-d", str(directory))
