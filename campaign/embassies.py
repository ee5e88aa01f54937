"""The public directory of Kazakhstan's embassies: which one to protest at, country by country."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign import countries
from campaign.models import Embassy, EmbassyCountry


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
