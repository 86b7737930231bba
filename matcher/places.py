"""Places: ISO 3166 countries and regions, how sentences name them, and licensing compacts.

Where the person will be during sessions decides who may treat them (a licence is for a
jurisdiction), so codes are checked against ISO 3166 itself (pycountry), and named in words from
rules/jurisdictions.yaml first ("the Netherlands", "the Community of Madrid"), ISO's name second.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import pycountry

COUNTRY_CODES = frozenset(str(c.alpha_2) for c in pycountry.countries)


def is_country(code: str) -> bool:
    """Say whether `code` is an ISO 3166-1 alpha-2 country code (uppercase)."""
    return code in COUNTRY_CODES


@functools.lru_cache(maxsize=4096)
def is_region(code: str) -> bool:
    """Say whether `code` is an ISO 3166-2 subdivision code such as US-NJ (uppercase)."""
    return code[:2] in COUNTRY_CODES and pycountry.subdivisions.get(code=code) is not None


@functools.lru_cache(maxsize=4096)
def is_jurisdiction(code: str) -> bool:
    """A country (ISO 3166-1 alpha-2) or one of its regions (ISO 3166-2)."""
    return is_country(code) or is_region(code)


def country_of(code: str) -> str:
    """The country a jurisdiction code belongs to: US-NJ -> US, GB -> GB."""
    return code[:2]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=512)
def region_named(country: str, text: str) -> str | None:
    """The ISO 3166-2 code of the region of `country` called `text` ('New Jersey' -> US-NJ)."""
    wanted = _fold(text)
    if is_region(text.strip().upper()) and text.strip().upper().startswith(f"{country}-"):
        return text.strip().upper()
    for region in pycountry.subdivisions.get(country_code=country) or ():
        if _fold(str(region.name)) == wanted or _fold(str(region.code)) == wanted:
            return str(region.code)
    return None


@functools.lru_cache(maxsize=512)
def place_named(text: str) -> str | None:
    """The ISO code of a place typed in words or as a code, with no country picked.

    'Italy' -> IT, 'US-NJ' -> US-NJ, 'New Jersey' -> US-NJ (a region's name only when no other
    country has a region of that name); None when it names nothing, or more than one place.
    """
    code = text.strip().upper()
    if is_jurisdiction(code):
        return code
    try:
        return str(pycountry.countries.lookup(text.strip()).alpha_2)
    except LookupError:
        pass
    wanted = _fold(text)
    found = {str(r.code) for r in pycountry.subdivisions if _fold(str(r.name)) == wanted}
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class Compact:
    """An interjurisdictional compact: authority to practise in its members, for some formats."""

    id: str
    name: str
    authority: str  # what it authorises, in words: "telepsychology"
    formats: tuple[str, ...]  # which formats it covers (PSYPACT's telepsychology: online)
    members: frozenset[str]


@dataclass(frozen=True)
class Places:
    """Names of places for sentences, and the compacts therapists may hold."""

    names: dict[str, str]
    compacts: dict[str, Compact]

    def name(self, code: str) -> str:
        """A country or region in words, as it reads after 'in': 'the Netherlands', 'New York'."""
        if code in self.names:
            return self.names[code]
        country = pycountry.countries.get(alpha_2=code) if is_country(code) else None
        if country is not None:
            return str(getattr(country, "common_name", None) or country.name)
        region = pycountry.subdivisions.get(code=code) if is_region(code) else None
        return str(region.name) if region is not None else code


NO_PLACES = Places(names={}, compacts={})
