"""The public directory of Kazakhstan's embassies: which one to protest at, country by country."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign import countries, languages
from campaign.models import Embassy, EmbassyCountry

# How the directory names every embassy in English (seeds/embassies.yaml), the host country
# following; pages show the country beside the name.
_EMBASSY_IN = "Embassy of the Republic of Kazakhstan in "


@dataclass(frozen=True)
class CountryEntry:
    """A country and the embassy accredited to it (which may sit in another country)."""

    country: str
    country_name: str
    embassy: Embassy

    @property
    def elsewhere(self) -> bool:
        """True when the embassy sits outside this country."""
        return self.embassy.country != self.country


def display_name(embassy: Embassy) -> Markup:
    """The embassy's name for the page's reader, marked as English where it stays so.

    An embassy named as the directory names them is called so in the page's language (its
    country is shown beside it); another kind of mission keeps the English name it has.
    """
    if _named_in(embassy, languages.current()):
        return Markup("%s") % _("Embassy of the Republic of Kazakhstan")
    return Markup("<span%s>%s</span>") % (languages.lang_attr("en"), embassy.name)


def name_in(embassy: Embassy, language: str) -> str:
    """The embassy's name in ``language`` where nothing shows its country beside it.

    For a letter's addressee or a manifest: the host country goes in brackets, which needs
    no grammatical case in any language. Another kind of mission keeps its English name.
    """
    if not _named_in(embassy, language):
        return embassy.name
    with force_locale(language):
        embassy_of = _("Embassy of the Republic of Kazakhstan")
    return f"{embassy_of} ({countries.name(embassy.country, language)})"


def _named_in(embassy: Embassy, language: str) -> bool:
    """Whether the embassy is named as the directory names them, in a language not English."""
    return language != "en" and embassy.name.startswith(_EMBASSY_IN)


def directory(session: Session, locale: str) -> list[CountryEntry]:
    """Every country the directory covers, named and sorted in ``locale``."""
    rows = session.execute(select(EmbassyCountry.country, Embassy).join(Embassy)).all()
    entries = [
        CountryEntry(country=code, country_name=countries.name(code, locale), embassy=embassy)
        for code, embassy in rows
    ]
    key = countries.sort_key(locale)
    return sorted(entries, key=lambda entry: key(entry.country_name))


def for_country(session: Session, code: str | None, locale: str) -> CountryEntry | None:
    """The embassy accredited to the country ``code``, if the directory has one."""
    if not code or code not in countries.codes():
        return None
    embassy = session.scalar(
        select(Embassy).join(EmbassyCountry).where(EmbassyCountry.country == code)
    )
    if embassy is None:
        return None
    return CountryEntry(country=code, country_name=countries.name(code, locale), embassy=embassy)
