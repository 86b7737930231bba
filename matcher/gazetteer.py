"""Places: the small gazetteer in rules/gazetteer.yaml, and distances between centres.

A city, district or postcode the person gives becomes the coordinates of its centre (never of an
address); distances from it to the roster's offices are computed as numpy columns.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.errors import ConfigError
from matcher.yamlfile import load_yaml

GAZETTEER_FILE = "gazetteer.yaml"
EARTH_RADIUS_KM = 6371.0
KINDS = ("city", "district", "postcode")
_GB_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)(?:\s*([0-9][A-Z]{2}))?$")
_NL_POSTCODE = re.compile(r"^([0-9]{4})\s*[A-Z]{2}$")
_DIGITS = re.compile(r"^[0-9]{4,5}$")
_REGION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def fold(text: str) -> str:
    """Fold case, accents, hyphens and spacing: 'Den-Haag ', 'den haag' and 'DEN HAAG' agree."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.replace("-", " ").replace(".", " ").split())


@dataclass(frozen=True)
class Place:
    """Where a person will be, as far as the gazetteer knows: the centre of a city, district or
    postcode area."""

    name: str
    kind: str  # city, district or postcode
    country: str
    region: str | None
    lat: float
    lon: float
    of: str | None = None  # the city a district belongs to, or the place a postcode is near

    def as_json(self) -> dict[str, Any]:
        """The place as the API shows it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "country": self.country,
            "region": self.region,
            "lat": self.lat,
            "lon": self.lon,
        }


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per rules load
class Gazetteer:
    """The places of rules/gazetteer.yaml, indexed by folded name and by postcode prefix."""

    by_name: dict[str, tuple[Place, ...]]
    postcodes: dict[str, dict[str, Place]]  # country -> prefix -> place
    countries: dict[str, str]  # folded country name or code -> ISO 3166-1 alpha-2
    describe: dict[str, str]  # kind -> how the centre is named in a sentence

    def country_of(self, text: str) -> str | None:
        """The ISO 3166-1 code of a country as people write it ('UK', 'España'), or None."""
        return self.countries.get(fold(text))

    def find(
        self, text: str, country: str | None = None, prefer: str | None = None
    ) -> Place | None:
        """The place a person means by `text` (a city, district, 'City, Country' or postcode).

        `country`, when known, restricts the search; `prefer` (the clinic's country) breaks ties
        between places of the same name in several countries.
        """
        written = " ".join(text.split())
        if not written:
            return None
        postcode = self.postcode(written, country)
        if postcode is not None:
            return postcode
        found = self._named(fold(written), country, None, prefer)
        if found is not None or "," not in written:
            return found
        head, tail = (part.strip() for part in written.rsplit(",", 1))
        tail_country = self.country_of(tail)
        if tail_country is not None:
            if country is not None and tail_country != country:
                return None
            return self.find(head, tail_country, prefer)
        if _REGION.match(f"US-{tail.upper()}") and len(tail) == 2 and country in (None, "US"):
            return self._named(fold(head), "US", f"US-{tail.upper()}", prefer)
        parent = self._named(fold(tail), country, None, prefer)
        if parent is None:
            return None
        inside = [
            p
            for p in self.by_name.get(fold(head), ())
            if p.country == parent.country and (p.of == parent.name or p.name == parent.name)
        ]
        return inside[0] if inside else None

    def _named(
        self, key: str, country: str | None, region: str | None, prefer: str | None
    ) -> Place | None:
        candidates = [
            p
            for p in self.by_name.get(key, ())
            if (country is None or p.country == country) and (region is None or p.region == region)
        ]
        if not candidates:
            return None
        preferred = [p for p in candidates if p.country == prefer]
        return (preferred or candidates)[0]

    def postcode(self, text: str, country: str | None = None) -> Place | None:
        """The centre of the postcode area `text` falls in, by its longest known prefix."""
        code = text.strip().upper()
        gb = _GB_POSTCODE.match(code)
        if gb and country in (None, "GB"):
            outward = gb[1]
            for prefix in (outward, outward[:-1] if outward[-1].isalpha() else "", outward[:2]):
                letters = re.match(r"^[A-Z]+", outward)
                for candidate in (prefix, letters[0] if letters else ""):
                    if candidate and candidate in self.postcodes.get("GB", {}):
                        return self._postcode_place("GB", candidate, outward)
            return None
        nl = _NL_POSTCODE.match(code)
        if nl and country in (None, "NL"):
            return self._longest("NL", nl[1])
        if _DIGITS.match(code) and country is not None:
            return self._longest(country, code)
        return None

    def _longest(self, country: str, digits: str) -> Place | None:
        table = self.postcodes.get(country, {})
        for end in range(len(digits), 0, -1):
            if digits[:end] in table:
                return self._postcode_place(country, digits[:end], digits)
        return None

    def _postcode_place(self, country: str, prefix: str, written: str) -> Place:
        area = self.postcodes[country][prefix]
        return Place(
            name=prefix if country == "GB" else written,
            kind="postcode",
            country=country,
            region=area.region,
            lat=area.lat,
            lon=area.lon,
            of=area.of,
        )

    def centre_words(self, place: Place) -> str:
        """'central Madrid (city centre, not your address)': where a distance is measured from."""
        return self.describe[place.kind].format(name=place.name)


def km_between(
    lat: float, lon: float, lats: npt.NDArray[np.float64], lons: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Great-circle distances in km from one point to many (haversine), as one numpy column."""
    phi0, lam0 = np.radians(lat), np.radians(lon)
    phi, lam = np.radians(lats), np.radians(lons)
    a = np.sin((phi - phi0) / 2) ** 2 + np.cos(phi0) * np.cos(phi) * np.sin((lam - lam0) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))  # type: ignore[no-any-return]


def km_apart(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle km between two points (haversine), without numpy: for one pair at a time."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(a, 1.0)))


def _number(
    raw: Mapping[str, Any], key: str, low: float, high: float, where: str, name: str
) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(
            name, f"{where}: {key} must be a number from {low} to {high}, not {value!r}"
        )
    return float(value)


def load_gazetteer(path: Path, name: str) -> Gazetteer:
    """Load and validate rules/gazetteer.yaml; raise ConfigError naming entry and problem."""
    data = load_yaml(path, name)
    if not isinstance(data, dict) or set(data) != {"countries", "places", "postcodes", "describe"}:
        raise ConfigError(name, "needs exactly: countries, places, postcodes, describe")
    describe = data["describe"]
    if not isinstance(describe, dict) or set(describe) != set(KINDS):
        raise ConfigError(name, f"describe: give the words for exactly {', '.join(KINDS)}")
    countries: dict[str, str] = {}
    for code, names in data["countries"].items():
        if not re.match(r"^[A-Z]{2}$", str(code)) or not isinstance(names, list):
            raise ConfigError(name, f"countries: {code!r}: an ISO 3166-1 code and a list of names")
        for written in [code, *names]:
            countries[fold(str(written))] = str(code)
    by_name: dict[str, list[Place]] = {}
    named: dict[tuple[str, str], Place] = {}
    for number, raw in enumerate(data["places"], start=1):
        where = f"place #{number}"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise ConfigError(name, f"{where}: needs a name")
        where = f"place {raw['name']!r}"
        allowed = {"name", "kind", "of", "country", "region", "lat", "lon", "aliases"}
        unknown = set(raw) - allowed
        if unknown:
            raise ConfigError(name, f"{where}: unknown key {sorted(unknown)[0]!r}")
        if raw.get("kind") not in ("city", "district"):
            raise ConfigError(name, f"{where}: kind must be city or district")
        if raw.get("country") not in countries.values():
            raise ConfigError(
                name, f"{where}: country {raw.get('country')!r} is not under countries"
            )
        region = raw.get("region")
        if region is not None and not (
            isinstance(region, str) and _REGION.match(region) and region[:2] == raw["country"]
        ):
            raise ConfigError(
                name, f"{where}: region {region!r} is not an ISO 3166-2 code of its country"
            )
        parent = raw.get("of")
        if (raw["kind"] == "district") != isinstance(parent, str):
            raise ConfigError(name, f"{where}: a district names its city in `of`, a city does not")
        if parent is not None and (raw["country"], parent) not in named:
            raise ConfigError(name, f"{where}: of {parent!r} is not a place listed before it")
        place = Place(
            name=raw["name"],
            kind=raw["kind"],
            country=raw["country"],
            region=region,
            lat=_number(raw, "lat", -90, 90, where, name),
            lon=_number(raw, "lon", -180, 180, where, name),
            of=parent,
        )
        named[(place.country, place.name)] = place
        for written in [raw["name"], *(raw.get("aliases") or [])]:
            by_name.setdefault(fold(str(written)), []).append(place)
    postcodes: dict[str, dict[str, Place]] = {}
    for country, entries in data["postcodes"].items():
        table = postcodes.setdefault(str(country), {})
        for raw in entries:
            where = f"postcodes: {country}: {raw.get('prefix')!r}"
            near = named.get((str(country), str(raw.get("near"))))
            if near is None:
                raise ConfigError(
                    name, f"{where}: near {raw.get('near')!r} is not a place of {country}"
                )
            prefix = str(raw["prefix"]).upper()
            if prefix in table:
                raise ConfigError(name, f"{where}: listed twice")
            table[prefix] = Place(
                name=prefix,
                kind="postcode",
                country=str(country),
                region=near.region,
                lat=_number(raw, "lat", -90, 90, where, name),
                lon=_number(raw, "lon", -180, 180, where, name),
                of=near.name,
            )
    return Gazetteer(
        by_name={key: tuple(places) for key, places in by_name.items()},
        postcodes=postcodes,
        countries=countries,
        describe={str(k): str(v) for k, v in describe.items()},
    )


@dataclass(frozen=True)
class Near:
    """How far a person can travel to see someone in person, and from where.

    `place` is None when only their country is known: then an office in that country counts.
    """

    place: Place | None
    country: str | None
    max_km: int
    # Office access the person needs: only an office that has all of them counts, and distances
    # are to the nearest such office.
    needs: tuple[str, ...] = ()
