"""Read therapists.yaml, validate every entry against the vocabulary, and index it for matching."""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import operator
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import chain, compress, repeat
from operator import attrgetter
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import msgspec
import numpy as np
import numpy.typing as npt
from msgspec import Meta, Struct

from matcher.checks import group_key
from matcher.errors import ConfigError
from matcher.gazetteer import EARTH_RADIUS_KM, Gazetteer, Place, km_apart, km_between
from matcher.languages import LANGUAGE_CODES
from matcher.payment import is_currency
from matcher.places import NO_PLACES, Compact, Places, is_jurisdiction
from matcher.rules import Vocabulary
from matcher.yamlfile import load_yaml

# Fields whose every value gets an index: hard constraints and listing filters intersect these.
INDEXED_LIST_FIELDS = (
    "languages",
    "formats",
    "settings",
    "modalities",
    "difficulties",
    "availability",
    "measures_outcomes",
    "affirming",
    "identity",
)
# Issue 15 made these required: an older roster without them is refused, naming each one.
REQUIRED_SINCE_LICENSURE = ("licences", "accepting")
# Derived list fields, indexed the same way: each group a therapist runs, by topic and format.
GROUP_FITS = "group_fits"
# Each roster field of vocabulary ids, and the vocabulary group its ids must be one of.
ID_GROUPS = {
    "modalities": "modalities",
    "difficulties": "difficulties",
    "formats": "formats",
    "settings": "settings",
    "availability": "times",
    "measures_outcomes": "instruments",
    "access": "access",
    "affirming": "affirming",
    "identity": "identities",
    "gender": "genders",
    "licence_type": "licence_types",
}
# The ones that are lists every therapist fills in (access and affirming may be empty).
REQUIRED_ID_LISTS = (
    "modalities",
    "difficulties",
    "formats",
    "settings",
    "availability",
    "measures_outcomes",
)


def id_groups(vocabulary: Vocabulary, names: Iterable[str]) -> dict[str, Mapping[str, Any]]:
    """The vocabulary group each of these roster fields takes its ids from, by field name."""
    return {name: getattr(vocabulary, ID_GROUPS[name]) for name in names}


def normalise_city(city: str) -> str:
    """Fold case and accents so that 'málaga ' and 'Malaga' compare equal."""
    decomposed = unicodedata.normalize("NFKD", city.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


Text = Annotated[str, Meta(min_length=1, max_length=300)]
Ids = Annotated[list[str], Meta(min_length=1)]
Age = Annotated[int, Meta(ge=0, le=120)]


class AgeRange(Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """The client ages a therapist works with."""

    min: Age
    max: Age


class Group(Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """A group a therapist runs."""

    name: Text
    topic: str
    modality: str
    format: str
    schedule: Text  # the days and times, for example "Thursdays 18:30-20:00"
    weeks: Annotated[int, Meta(ge=1, le=104)]  # how many weeks it runs


class Payer(Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """A plan a therapist works with: the scheme (rules/payment.yaml), the payer, the network."""

    scheme: str
    payer: str | None
    network: Literal["in_network", "out_of_network", "reimbursement"]
    verified_at: date


class Office(Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """A place where a therapist sees people in person, with the coordinates of its door and
    what it offers for access (vocabulary access ids: step-free, accessible toilet...)."""

    city: Annotated[str, Meta(min_length=1, max_length=100)]
    postcode: Annotated[str, Meta(min_length=1, max_length=12)] | None
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)]
    access: list[str] = msgspec.field(default_factory=list)
    # How the office is called in a sentence ("the Chamberí office"); its city when not given.
    name: Annotated[str, Meta(min_length=1, max_length=60)] | None = None

    @property
    def called(self) -> str:
        """The office's name in a sentence: its own, else its city's."""
        return self.name or self.city


class Licence(Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """A licence to practise in one jurisdiction (a country covers its regions)."""

    jurisdiction: str  # ISO 3166-1 alpha-2 (GB) or ISO 3166-2 (US-NY)
    register: Text  # who keeps the register: "New York State Office of the Professions"
    number: Annotated[str, Meta(min_length=1, max_length=60)]
    title: Text  # the protected title it gives: "Licensed Clinical Social Worker"
    status: str  # licence_statuses in the vocabulary: active, lapsed, suspended...
    expires: date | None  # the last day it is valid; None: it does not expire
    verified_at: date  # when the clinic last checked it on the register


class CompactAuthority(Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """Authority under a compact (PSYPACT's APIT) to practise in its member jurisdictions."""

    compact: str  # an id from rules/jurisdictions.yaml
    number: Annotated[str, Meta(min_length=1, max_length=60)]
    expires: date | None
    verified_at: date
    status: str = "active"


class Accepting(Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """When `accepting_new_clients` was last confirmed with the therapist, and their openings."""

    verified_at: date
    next_available: date | None = None
    weekly_cap: Annotated[int, Meta(ge=0, le=100)] | None = None  # new clients a week at most


class Identity(Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """Who the therapist is (faith, ethnicity, orientation), shown only because they opted in."""

    consent: date  # when the therapist asked for this to be shown
    values: Annotated[list[str], Meta(min_length=1)]


class TherapistRecord(Struct, forbid_unknown_fields=True, frozen=True, gc=False, kw_only=True):
    """One roster entry as validated at load; field for field the public profile."""

    id: Annotated[str, Meta(pattern=r"^[a-z][a-z0-9-]{0,39}$")]
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    licences: Annotated[list[Licence], Meta(min_length=1)]
    compacts: list[CompactAuthority] = msgspec.field(default_factory=list)
    accepting: Accepting
    works_with_interpreters: bool = False
    affirming: list[str] = msgspec.field(default_factory=list)
    identity: Identity | None = None
    pronouns: Annotated[str, Meta(min_length=1, max_length=40)]
    gender: str
    licence_type: str
    credentials: Text
    modalities: Ids
    difficulties: Ids
    languages: Ids
    formats: Ids
    settings: Ids
    groups: list[Group]
    city: str | None
    country: Annotated[str, Meta(pattern=r"^[A-Z]{2}$")]
    ages: AgeRange
    fee: Annotated[int, Meta(ge=0)]
    sliding_scale_min: Annotated[int, Meta(ge=0)] | None
    accepting_new_clients: bool
    availability: Ids
    measures_outcomes: list[str]
    bio: Annotated[str, Meta(min_length=1, max_length=2000)]
    # Payment and places (issue 15). An older roster file may leave them out: see
    # _with_defaults for what each then means.
    currency: str | None = None
    low_fee_places: Annotated[int, Meta(ge=0, le=1000)] | None = None
    payers: list[Payer] = []
    offices: list[Office] | None = None


class RosterFile(Struct, forbid_unknown_fields=True):
    """The roster file: the therapists, and in an older file one currency for all of them."""

    therapists: Annotated[list[TherapistRecord], Meta(min_length=1)]
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")] | None = None


@dataclass(frozen=True)
class Therapist:
    """One validated roster entry at its position in the roster."""

    position: int
    record: TherapistRecord
    hide_licence_numbers: bool = False

    def __getitem__(self, key: str) -> Any:
        value = getattr(self.record, key)
        return {"min": value.min, "max": value.max} if key == "ages" else value

    @property
    def id(self) -> str:
        """The therapist's stable id."""
        return self.record.id

    @property
    def profile(self) -> dict[str, Any]:
        """The public profile, as JSON-ready builtins."""
        profile: dict[str, Any] = msgspec.to_builtins(self.record)
        if self.hide_licence_numbers:
            for entry in profile["licences"] + profile["compacts"]:
                del entry["number"]
        if profile["identity"] is None:
            del profile["identity"]  # only a therapist who opted in has one to show
        return profile

    @property
    def in_person_city(self) -> str | None:
        """The normalised city where they see people in person, or None if online only."""
        if "in_person" in self.record.formats and self.record.city:
            return normalise_city(self.record.city)
        return None


# A sliding-scale minimum for "no sliding scale": above any budget.
NO_SLIDING_SCALE = np.iinfo(np.int32).max
NO_CITY = -1
UNCAPPED = -1  # low_fee_places not stated: the sliding scale is not limited to a number of places
DISTANCES_KEPT = 16  # nearest-office columns kept per roster, one per place asked about


def payer_keys(scheme: str, payer: str | None) -> tuple[str, ...]:
    """The index keys a covered plan entry answers to: its scheme alone, and scheme/payer."""
    return (scheme, f"{scheme}/{payer or '*'}")


def _index(
    size: int, values_per_row: list[list[str]]
) -> tuple[dict[str, int], npt.NDArray[np.bool_]]:
    """One boolean column per distinct value: row i has True where it lists that value.

    Columns are numbered in the order their values first appear.
    """
    flat = list(chain.from_iterable(values_per_row))
    columns = {value: number for number, value in enumerate(dict.fromkeys(flat))}
    # Column-major: a check reads whole columns (one value for every therapist).
    matrix = np.zeros((size, max(len(columns), 1)), dtype=np.bool_, order="F")
    if flat:
        lengths = np.fromiter(map(len, values_per_row), dtype=np.intp, count=size)
        rows = np.repeat(np.arange(size, dtype=np.intp), lengths)
        matrix[rows, np.fromiter(map(columns.__getitem__, flat), np.intp, len(flat))] = True
    return columns, matrix


def _codes(values: list[Any], dtype: type[np.signedinteger[Any]]) -> tuple[dict[Any, int], Any]:
    """Each value's code (numbered in the order values first appear), and the column of codes."""
    codes = {value: number for number, value in enumerate(dict.fromkeys(values))}
    return codes, np.fromiter(map(codes.__getitem__, values), dtype, len(values))


def _column(records: list[TherapistRecord], name: str, dtype: Any) -> Any:
    """One field of every record as a numpy column (`name` may be dotted: ages.min)."""
    return np.fromiter(map(attrgetter(name), records), dtype, len(records))


# Licence columns hold the ordinal of the last day a licence is valid: 0 for none held.
NOT_LICENSED = 0
NO_EXPIRY = date.max.toordinal()


@dataclass
class Roster:
    """The therapists, in file order, with their fields as columns for vectorised matching.

    Every filterable field is a numpy column over roster positions: list fields (languages,
    modalities...) as one boolean column per value, the rest as numbers or codes. Filters and
    scores then cost a few array operations whatever the roster's size.
    """

    therapists: tuple[Therapist, ...]
    digest: str
    covered_by: frozenset[str] = frozenset({"in_network", "reimbursement"})
    compacts: dict[str, Compact] = field(default_factory=dict)
    # Licence statuses under which a licence counts (the vocabulary's `counts: true`).
    practising: frozenset[str] = frozenset({"active"})
    by_id: dict[str, Therapist] = field(init=False)
    values: dict[str, dict[str, int]] = field(init=False)  # list field -> value -> column
    lists: dict[str, npt.NDArray[np.bool_]] = field(init=False)  # list field -> bool[N, V]
    accepting: npt.NDArray[np.bool_] = field(init=False)
    cities: dict[str, int] = field(init=False)  # normalised city -> code
    city: npt.NDArray[np.int32] = field(init=False)
    in_person_city: npt.NDArray[np.int32] = field(init=False)
    fee: npt.NDArray[np.int32] = field(init=False)
    sliding_scale_min: npt.NDArray[np.int32] = field(init=False)
    age_min: npt.NDArray[np.int16] = field(init=False)
    age_max: npt.NDArray[np.int16] = field(init=False)
    genders: dict[str, int] = field(init=False)
    gender: npt.NDArray[np.int8] = field(init=False)
    id_rank: npt.NDArray[np.int64] = field(init=False)  # position -> rank of its id, for ties
    currencies: dict[str, int] = field(init=False)  # ISO 4217 code -> code in `currency`
    currency: npt.NDArray[np.int16] = field(init=False)
    low_fee_places: npt.NDArray[np.int32] = field(init=False)  # UNCAPPED when not stated
    countries: dict[str, int] = field(init=False)
    country: npt.NDArray[np.int16] = field(init=False)
    office_lat: npt.NDArray[np.float64] = field(init=False)  # every office, therapist by therapist
    office_lon: npt.NDArray[np.float64] = field(init=False)
    office_start: npt.NDArray[np.intp] = field(init=False)  # therapist -> first office's index
    has_office: npt.NDArray[np.bool_] = field(init=False)
    office_access_values: dict[str, int] = field(init=False)  # access id -> column
    office_access: npt.NDArray[np.bool_] = field(init=False)  # [office, access id]
    _distances: OrderedDict[tuple[float, float, tuple[str, ...]], npt.NDArray[np.float64]] = field(
        init=False, repr=False
    )
    _with_access: OrderedDict[tuple[str, ...], npt.NDArray[np.bool_]] = field(
        init=False, repr=False
    )
    licence_places: dict[str, int] = field(init=False)  # jurisdiction -> column
    # [position, jurisdiction]: the last day a practising licence there is valid (0: none).
    licence_until: npt.NDArray[np.int32] = field(init=False)
    licence_best: npt.NDArray[np.int32] = field(init=False)  # the latest, anywhere
    licence_soonest: npt.NDArray[np.int32] = field(init=False)  # the first to expire
    compact_until: dict[str, npt.NDArray[np.int32]] = field(init=False)  # compact id -> days
    confirmed_on: npt.NDArray[np.int32] = field(init=False)  # accepting.verified_at, ordinal
    interpreters: npt.NDArray[np.bool_] = field(init=False)

    def __post_init__(self) -> None:
        # Built field by field over all records (map, chain, fromiter), not record by record:
        # the 100k-therapist roster's columns take a fraction of a second.
        records = [t.record for t in self.therapists]
        size = len(records)
        self.by_id = {t.id: t for t in self.therapists}
        self.values, self.lists = {}, {}
        for name in (*INDEXED_LIST_FIELDS, GROUP_FITS):
            derived = name in ("identity", GROUP_FITS)
            self.values[name], self.lists[name] = _index(
                size,
                [_list_values(record, name) for record in records]
                if derived
                else list(map(attrgetter(name), records)),
            )
        # "payers": the plans each therapist is covered by (network in covered_by), by scheme
        # and by scheme/payer (scheme/* for an entry that covers every payer of its scheme).
        self.values["payers"], self.lists["payers"] = _index(
            size,
            [
                [
                    key
                    for entry in payers
                    if entry.network in self.covered_by
                    for key in payer_keys(entry.scheme, entry.payer)
                ]
                if payers
                else payers
                for payers in map(attrgetter("payers"), records)
            ],
        )
        self.currencies, self.currency = _codes([r.currency or "" for r in records], np.int16)
        self.low_fee_places = np.fromiter(
            (UNCAPPED if n is None else n for n in map(attrgetter("low_fee_places"), records)),
            np.int32,
            size,
        )
        self.countries, self.country = _codes(list(map(attrgetter("country"), records)), np.int16)
        offices = [r.offices or [] for r in records]
        counts = np.fromiter(map(len, offices), np.intp, size)
        self.office_start = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.intp)
        self.has_office = counts > 0
        every_office = list(chain.from_iterable(offices))
        self.office_lat = np.fromiter(
            map(attrgetter("lat"), every_office), np.float64, len(every_office)
        )
        self.office_lon = np.fromiter(
            map(attrgetter("lon"), every_office), np.float64, len(every_office)
        )
        self.office_access_values, self.office_access = _index(
            len(every_office), list(map(attrgetter("access"), every_office))
        )
        self._distances = OrderedDict()
        self._with_access = OrderedDict()
        self.accepting = _column(records, "accepting_new_clients", np.bool_)
        written = list(map(attrgetter("city"), records))
        folded = {city: normalise_city(city) for city in set(written) if city}
        in_city = [folded[city] if city else None for city in written]
        self.cities = {
            city: number
            for number, city in enumerate(dict.fromkeys(c for c in in_city if c is not None))
        }
        self.city = np.fromiter(
            (NO_CITY if city is None else self.cities[city] for city in in_city), np.int32, size
        )
        self.in_person_city = np.where(self.column_of("formats", "in_person"), self.city, NO_CITY)
        self.fee = _column(records, "fee", np.int32)
        self.sliding_scale_min = np.fromiter(
            (
                NO_SLIDING_SCALE if low is None else low
                for low in map(attrgetter("sliding_scale_min"), records)
            ),
            np.int32,
            size,
        )
        self.age_min = _column(records, "ages.min", np.int16)
        self.age_max = _column(records, "ages.max", np.int16)
        self.genders, self.gender = _codes(list(map(attrgetter("gender"), records)), np.int8)
        order = sorted(range(size), key=list(map(attrgetter("id"), records)).__getitem__)
        self.id_rank = np.empty(size, dtype=np.int64)
        self.id_rank[order] = np.arange(size)
        self._licence_columns(records)
        self.confirmed_on = np.fromiter(
            (r.accepting.verified_at.toordinal() for r in records), np.int32, size
        )
        self.interpreters = _column(records, "works_with_interpreters", np.bool_)

    def _licence_columns(self, records: list[TherapistRecord]) -> None:
        size = len(records)
        held = list(map(attrgetter("licences"), records))
        every = list(chain.from_iterable(held))
        owner = np.repeat(
            np.arange(size, dtype=np.intp), np.fromiter(map(len, held), np.intp, size)
        )
        counts = np.fromiter((lic.status in self.practising for lic in every), np.bool_, len(every))
        kept = list(compress(every, counts))
        places = list(map(attrgetter("jurisdiction"), kept))
        self.licence_places = {place: n for n, place in enumerate(dict.fromkeys(places))}
        until_matrix = np.zeros((size, max(len(self.licence_places), 1)), np.int32, order="F")
        if kept:
            column = np.fromiter(map(self.licence_places.__getitem__, places), np.intp, len(kept))
            until = np.fromiter(
                (NO_EXPIRY if lic.expires is None else lic.expires.toordinal() for lic in kept),
                np.int32,
                len(kept),
            )
            # Two licences for one place: the one valid longest counts.
            np.maximum.at(until_matrix, (owner[counts], column), until)
        self.licence_until = until_matrix
        self.licence_best = until_matrix.max(axis=1).astype(np.int32)
        in_force = np.where(until_matrix > NOT_LICENSED, until_matrix, NO_EXPIRY)
        self.licence_soonest = in_force.min(axis=1).astype(np.int32)
        self.compact_until = {}
        holders = [(n, record.compacts) for n, record in enumerate(records) if record.compacts]
        for compact in self.compacts:
            days = np.zeros(size, dtype=np.int32)
            for position, authorities in holders:
                for authority in authorities:
                    if authority.compact == compact and authority.status in self.practising:
                        ends = authority.expires
                        last_day = NO_EXPIRY if ends is None else ends.toordinal()
                        days[position] = max(int(days[position]), last_day)
            self.compact_until[compact] = days

    @property
    def size(self) -> int:
        """How many therapists the roster holds."""
        return len(self.therapists)

    def by_name(self) -> list[Therapist]:
        """The therapists in the order of their names, as staff look them up."""
        return sorted(self.therapists, key=lambda t: str(t.profile["name"]))

    def jurisdictions(self) -> list[str]:
        """Every country and region a therapist on the roster holds a practising licence for."""
        return sorted(self.licence_places)

    def column_of(self, name: str, value: str) -> npt.NDArray[np.bool_]:
        """For every position: does list field `name` hold `value`?"""
        column = self.values[name].get(value)
        if column is None:
            return np.zeros(self.size, dtype=np.bool_)
        return self.lists[name][:, column]

    def city_code(self, city: str) -> int:
        """The code of a city as people write it, or -2 for a city nobody is in."""
        return self.cities.get(normalise_city(city), -2)

    def currency_code(self, currency: str) -> int:
        """The code of an ISO 4217 currency in the `currency` column, or -2 when nobody uses it."""
        return self.currencies.get(currency, -2)

    def country_code(self, country: str) -> int:
        """The code of an ISO 3166-1 country in the `country` column, or -2 when nobody is there."""
        return self.countries.get(country, -2)

    def offices_with(self, needs: Sequence[str]) -> npt.NDArray[np.bool_]:
        """For every office (in the office columns' order): does it have every one of `needs`?"""
        result = np.ones(len(self.office_lat), dtype=np.bool_)
        for need in needs:
            column = self.office_access_values.get(need)
            if column is None:
                return np.zeros(len(self.office_lat), dtype=np.bool_)
            result &= self.office_access[:, column]
        return result

    def has_office_with(self, needs: Sequence[str]) -> npt.NDArray[np.bool_]:
        """For every position: does one of their offices have every one of `needs`?

        Kept for the last few sets of needs asked about: a match reads it for every check of
        every therapist it explains.
        """
        key = tuple(needs)
        known = self._with_access.get(key)
        if known is not None:
            self._with_access.move_to_end(key)
            return known
        result = np.zeros(self.size, dtype=np.bool_)
        if len(self.office_lat):
            starts = self.office_start[self.has_office]
            result[self.has_office] = np.logical_or.reduceat(self.offices_with(needs), starts)
        result.flags.writeable = False
        self._with_access[key] = result
        if len(self._with_access) > DISTANCES_KEPT:
            self._with_access.popitem(last=False)
        return result

    def nearest_office_km(
        self, lat: float, lon: float, needs: Sequence[str] = ()
    ) -> npt.NDArray[np.float64]:
        """For every position: km from (lat, lon) to their nearest office that has every one
        of the access `needs` (inf: no such office).

        One column per place (and needs), kept for the last few asked about: people ask about
        the same few hundred places of the gazetteer, so most matches reuse one.
        """
        key = (lat, lon, tuple(needs))
        known = self._distances.get(key)
        if known is not None:
            self._distances.move_to_end(key)
            return known
        nearest = np.full(self.size, np.inf)
        if len(self.office_lat):
            km = km_between(lat, lon, self.office_lat, self.office_lon)
            if needs:  # an office without them is no way in for this person
                km = np.where(self.offices_with(needs), km, np.inf)
            starts = self.office_start[self.has_office]
            nearest[self.has_office] = np.minimum.reduceat(km, starts)
        nearest.flags.writeable = False
        self._distances[key] = nearest
        if len(self._distances) > DISTANCES_KEPT:
            self._distances.popitem(last=False)
        return nearest


def _identity_values(record: TherapistRecord) -> list[str]:
    return record.identity.values if record.identity else []


def _list_values(record: TherapistRecord, name: str) -> list[str]:
    if name == "identity":
        return _identity_values(record)
    if name == GROUP_FITS:
        return [group_key(g.topic, g.format) for g in record.groups]
    values: list[str] = getattr(record, name)
    return values


def _check_licensure(record: TherapistRecord, vocabulary: Vocabulary, places: Places) -> str | None:
    """The first problem with a therapist's licences, compacts and availability, or None."""
    for number, licence in enumerate(record.licences, start=1):
        where = f"field 'licences': licence #{number}"
        if not is_jurisdiction(licence.jurisdiction):
            return (
                f"{where}: jurisdiction {licence.jurisdiction!r} is not an ISO 3166-1 alpha-2 "
                "country or ISO 3166-2 region code"
            )
        if licence.status not in vocabulary.licence_statuses:
            return f"{where}: unknown licence status {licence.status!r}"
    for number, held in enumerate(record.compacts, start=1):
        where = f"field 'compacts': compact #{number}"
        compact = places.compacts.get(held.compact)
        if compact is None:
            return f"{where}: unknown compact {held.compact!r} (not in jurisdictions.yaml)"
        if held.status not in vocabulary.licence_statuses:
            return f"{where}: unknown status {held.status!r}"
        if not any(licence.jurisdiction in compact.members for licence in record.licences):
            return f"{where}: {compact.name} needs a licence in one of its members (the home state)"
    accepting = record.accepting
    if accepting.next_available and accepting.next_available < accepting.verified_at:
        return (
            f"field 'accepting': next_available {accepting.next_available} is before "
            f"verified_at {accepting.verified_at}"
        )
    for name, allowed in id_groups(vocabulary, ("affirming", "identity")).items():
        values = _list_values(record, name)
        if not values:
            continue
        for value in values:
            if value not in allowed:
                return f"field {name!r}: unknown {name} id {value!r}"
        if len(set(values)) != len(values):
            return f"field {name!r}: an id is listed twice"
    return None


def _check_therapist(
    record: TherapistRecord, vocabulary: Vocabulary, places: Places = NO_PLACES
) -> str | None:
    """Return the first problem of a type-valid therapist (vocabulary, cross-field), or None."""
    data = {name: getattr(record, name) for name in record.__struct_fields__}
    data["ages"] = {"min": record.ages.min, "max": record.ages.max}
    for name, allowed in id_groups(vocabulary, REQUIRED_ID_LISTS).items():
        for value in data[name]:
            if value not in allowed:
                return f"field {name!r}: unknown {name} id {value!r}"
        if len(set(data[name])) != len(data[name]):
            return f"field {name!r}: an id is listed twice"
    for code in data["languages"]:
        if not vocabulary.is_language(code):
            return (
                f"field 'languages': {code!r} is not an ISO 639-1 language code "
                "or an ISO 639-3 sign language code"
            )
    if len(set(data["languages"])) != len(data["languages"]):
        return "field 'languages': a language is listed twice"
    if data["gender"] not in vocabulary.genders:
        return f"field 'gender': unknown gender id {data['gender']!r}"
    if data["licence_type"] not in vocabulary.licence_types:
        return f"field 'licence_type': unknown licence type {data['licence_type']!r}"
    if "in_person" in data["formats"] and not (data["city"] or "").strip():
        return "field 'city': required when formats include in_person"
    if data["ages"]["min"] > data["ages"]["max"]:
        return f"field 'ages': min {data['ages']['min']} is above max {data['ages']['max']}"
    if data["sliding_scale_min"] is not None and data["sliding_scale_min"] >= data["fee"]:
        return "field 'sliding_scale_min': must be below the fee"
    problem = _check_payment(record, vocabulary) or _check_offices(record, vocabulary)
    if problem:
        return problem
    has_group_setting = "group" in data["settings"]
    if has_group_setting and not data["groups"]:
        return "field 'groups': settings include group, so list at least one group"
    if data["groups"] and not has_group_setting:
        return "field 'groups': groups are listed but settings do not include group"
    for number, group in enumerate(record.groups, start=1):
        if group.topic not in vocabulary.difficulties:
            return f"group #{number}: unknown topic {group.topic!r}"
        if group.modality not in data["modalities"]:
            return f"group #{number}: modality {group.modality!r} is not among their modalities"
        if group.format not in data["formats"]:
            return f"group #{number}: format {group.format!r} is not among their formats"
    return _check_licensure(record, vocabulary, places)


def _refuse_missing(raw: Any, name: str) -> None:
    """Refuse a roster from before licensure, naming each required field a therapist lacks,
    and one with access on the therapist (it is each office's now), naming the field."""
    items = raw.get("therapists") if isinstance(raw, dict) else None
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        item_id = item.get("id")
        entry = f"therapist {item_id!r}" if isinstance(item_id, str) else f"therapist #{index + 1}"
        if "access" in item:
            # Not copied to every office: with two offices, that could send someone who needs
            # step-free access to the one with stairs. Only the clinic knows which office has it.
            raise ConfigError(
                name,
                "field 'access': access is now said per office: move it to each office that "
                "has it (offices: - {city: ..., access: [...]}; README, 'Licences, access and "
                "availability')",
                entry,
            )
        missing = [f for f in REQUIRED_SINCE_LICENSURE if f not in item]
        if missing:
            listed = " and ".join(repr(f) for f in missing)
            noun = "fields" if len(missing) > 1 else "field"
            raise ConfigError(
                name,
                f"{noun} {listed}: required, but missing (every therapist needs their licences "
                "and when their availability was last confirmed: README, 'Licences, access "
                "and availability')",
                entry,
            )


# An office this far from the centre of the city it names has its coordinates wrong (often lat
# and lon swapped): refused, rather than matched from the wrong place.
OFFICE_CITY_KM = 60


def _check_payment(record: TherapistRecord, vocabulary: Vocabulary) -> str | None:
    """The first problem of a therapist's currency, low-fee places or payers, or None."""
    if not is_currency(record.currency):
        return f"field 'currency': {record.currency!r} is not an ISO 4217 currency code"
    if record.low_fee_places is not None and record.sliding_scale_min is None:
        return "field 'low_fee_places': set, but there is no sliding_scale_min"
    payment = vocabulary.payment
    seen: set[tuple[str, str | None]] = set()
    for number, entry in enumerate(record.payers, start=1):
        where = f"field 'payers': #{number}"
        scheme = payment.schemes.get(entry.scheme) if payment else None
        if scheme is None:
            known = ", ".join(payment.schemes) if payment else "none loaded"
            return f"{where}: unknown scheme {entry.scheme!r} (known: {known})"
        if scheme.country != record.country:
            return f"{where}: scheme {entry.scheme!r} is for {scheme.country}, not {record.country}"
        if entry.payer is None and scheme.payer_required:
            known = ", ".join(scheme.payers)
            return f"{where}: scheme {entry.scheme!r} needs a payer (one of {known})"
        if entry.payer is not None and entry.payer not in scheme.payers:
            known = ", ".join(scheme.payers) or "none: leave payer null"
            return f"{where}: unknown payer {entry.payer!r} for {entry.scheme!r} (known: {known})"
        if (entry.scheme, entry.payer) in seen:
            return f"{where}: {entry.scheme} {entry.payer or ''} is listed twice".replace("  ", " ")
        seen.add((entry.scheme, entry.payer))
    return None


@functools.lru_cache(maxsize=4096)
def _centre(places: Gazetteer, city: str, country: str) -> Place | None:
    # A large roster names the same few hundred cities over and over.
    return places.find(city, country)


def _check_offices(record: TherapistRecord, vocabulary: Vocabulary) -> str | None:
    """The first problem of a therapist's offices, or None."""
    offices = record.offices or []
    in_person = "in_person" in record.formats
    if in_person and not offices:
        return "field 'offices': required when formats include in_person (at least one)"
    if offices and not in_person:
        return "field 'offices': listed, but formats do not include in_person"
    if offices and not any(
        normalise_city(o.city) == normalise_city(record.city or "") for o in offices
    ):
        return f"field 'offices': none is in the therapist's city {record.city!r}"
    places = vocabulary.gazetteer
    for number, office in enumerate(offices, start=1):
        for need in office.access:
            if need not in vocabulary.access:
                return f"field 'offices': #{number}: unknown access id {need!r}"
        if len(set(office.access)) != len(office.access):
            return f"field 'offices': #{number}: an access id is listed twice"
        centre = _centre(places, office.city, record.country) if places else None
        if centre is None:
            continue
        km = km_apart(centre.lat, centre.lon, office.lat, office.lon)
        if km > OFFICE_CITY_KM:
            return (
                f"field 'offices': #{number}: ({office.lat}, {office.lon}) is {round(km)} km from "
                f"{centre.name}; check the coordinates (lat first, then lon)"
            )
    return None


def _with_defaults(
    record: TherapistRecord, file_currency: str | None, vocabulary: Vocabulary
) -> TherapistRecord | str:
    """Fill what an older roster file leaves out, or say what cannot be filled.

    currency: the file-wide `currency`; offices: one at the centre of `city` (from the
    gazetteer) for a therapist who works in person; payers: none (self-pay only);
    low_fee_places: not capped.
    """
    if record.currency is None:
        if file_currency is None:
            return "field 'currency': required, but missing (or give the file a currency)"
        msgspec.structs.force_setattr(record, "currency", file_currency)
    if record.offices is None:
        offices: list[Office] = []
        if "in_person" in record.formats and record.city:
            centre = (
                vocabulary.gazetteer.find(record.city, record.country)
                if vocabulary.gazetteer
                else None
            )
            if centre is None:
                return (
                    f"field 'offices': required, but missing, and city {record.city!r} is not in "
                    "the gazetteer (rules/gazetteer.yaml) to place it"
                )
            offices = [Office(city=record.city, postcode=None, lat=centre.lat, lon=centre.lon)]
        msgspec.structs.force_setattr(record, "offices", offices)
    return record


_MSGSPEC_ERROR = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?$")


def _describe(error: msgspec.ValidationError, raw: Any, name: str) -> ConfigError:
    """Turn msgspec's error into one naming the file, the therapist and the field."""
    found = _MSGSPEC_ERROR.match(str(error))
    problem = found["problem"] if found else str(error)
    path = (found["path"] if found else "") or ""
    missing = re.match(r"Object missing required field `(.+)`", problem)
    unknown = re.match(r"Object contains unknown field `(.+)`", problem)
    field_name = missing[1] if missing else unknown[1] if unknown else None
    problem = "required, but missing" if missing else "unknown field" if unknown else problem
    problem = problem.replace("`", "")
    entry = None
    located = re.match(r"^\.therapists\[(\d+)\]\.?(.*)$", path)
    if located:
        index, rest = int(located[1]), located[2]
        items = raw.get("therapists") if isinstance(raw, dict) else None
        item = items[index] if isinstance(items, list) and index < len(items) else None
        item_id = item.get("id") if isinstance(item, dict) else None
        entry = f"therapist {item_id!r}" if isinstance(item_id, str) else f"therapist #{index + 1}"
        path = rest
    else:
        path = path.lstrip(".")
    field_path = ".".join(p for p in (path, field_name) if p)
    where = f"field {field_path!r}: " if field_path else ""
    return ConfigError(name, f"{where}{problem}", entry)


def _read(
    path: Path, name: str, checked: type[RosterFile] | None = None
) -> tuple[RosterFile, bytes, bool]:
    """The roster file decoded into validated structs, the bytes it was decoded from, and
    whether it was decoded into `checked` (see _checked_type), which said yes to every id."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(name, f"cannot be read ({exc.strerror})") from None
    if data.lstrip()[:1] == b"{":
        # A JSON roster (an export, often large) is decoded straight into validated structs:
        # no intermediate dicts, a fraction of the time and memory. JSON parsers disagree about
        # duplicate keys and exports do not write them, so they are not looked for here.
        try:
            if checked is not None:
                with contextlib.suppress(msgspec.ValidationError):
                    return msgspec.json.decode(data, type=checked, strict=True), data, True
            return msgspec.json.decode(data, type=RosterFile, strict=True), data, False
        except msgspec.ValidationError as exc:
            raw = load_yaml(path, name)  # only to name the therapist in the message
            _refuse_missing(raw, name)
            raise _describe(exc, raw, name) from None
        except msgspec.DecodeError as exc:
            load_yaml(path, name)  # names the line and column of the syntax error
            raise ConfigError(name, f"invalid JSON: {exc}") from None
    raw = load_yaml(path, name)
    _refuse_missing(raw, name)
    document = raw if raw is not None else {}
    try:
        if checked is not None:
            with contextlib.suppress(msgspec.ValidationError):
                return msgspec.convert(document, checked, strict=True), data, True
        return msgspec.convert(document, RosterFile, strict=True), data, False
    except msgspec.ValidationError as exc:
        raise _describe(exc, raw, name) from None


_CHECKED_TYPES: dict[tuple[tuple[str, ...], ...], type[RosterFile]] = {}


def _checked_type(vocabulary: Vocabulary) -> type[RosterFile]:
    """RosterFile whose ids (modalities, languages, gender...) are Literals of the vocabulary.

    Decoding into it checks every id against the vocabulary, and hands back the vocabulary's
    own string for it (one object per id however often a roster repeats it), in msgspec's C
    code: a large roster's ids cost neither a check nor a copy each. A file it refuses is
    decoded again into RosterFile and checked as before, which names the problem.
    """
    groups = id_groups(vocabulary, (name for name in ID_GROUPS if name != "identity"))
    ids = {name: tuple(group) for name, group in groups.items()}
    ids["languages"] = tuple(LANGUAGE_CODES)
    key = tuple(ids.values())
    known = _CHECKED_TYPES.get(key)
    if known is not None:
        return known
    record_fields: list[tuple[str, Any, Any]] = []
    for name, values in ids.items():
        if not values:
            continue  # nothing to be one of: RosterFile's own type, and the checks, say so
        one_of = Literal[values]  # type: ignore[valid-type]
        if name in ("gender", "licence_type"):
            record_fields.append((name, one_of, msgspec.NODEFAULT))
        elif name == "access":  # each office's
            office = msgspec.defstruct(
                "Office",
                [("access", list[one_of], msgspec.field(default_factory=list))],
                bases=(Office,),
            )
            record_fields.append(("offices", list[office] | None, None))  # type: ignore[valid-type]
        elif name == "affirming":
            record_fields.append((name, list[one_of], msgspec.field(default_factory=list)))
        elif name == "measures_outcomes":
            record_fields.append((name, list[one_of], msgspec.NODEFAULT))
        else:
            record_fields.append(
                (name, Annotated[list[one_of], Meta(min_length=1)], msgspec.NODEFAULT)
            )
    record = msgspec.defstruct(
        "TherapistRecord", record_fields, bases=(TherapistRecord,), kw_only=True
    )
    roster_file = cast(
        type[RosterFile],
        msgspec.defstruct(
            "RosterFile",
            [("therapists", Annotated[list[record], Meta(min_length=1)])],  # type: ignore[valid-type]
            bases=(RosterFile,),
        ),
    )
    _CHECKED_TYPES[key] = roster_file
    return roster_file


def load_roster(
    path: Path,
    vocabulary: Vocabulary,
    display_name: str | None = None,
    places: Places = NO_PLACES,
    hide_licence_numbers: bool = False,
) -> Roster:
    """Load and validate the roster file; raise ConfigError naming file, therapist and problem."""
    name = display_name or path.name
    # A large roster is millions of small objects that all live as long as the roster: the
    # collector's passes over them while they are made cost more than making them.
    with _collector_paused():
        data, content, ids_checked = _read(path, name, _checked_type(vocabulary))
        records = data.therapists
        filled = all(
            not isinstance(_with_defaults(record, data.currency, vocabulary), str)
            for record in records
        )
        _share_strings(records, lists=not ids_checked)

        def columns() -> Roster:
            return Roster(
                therapists=tuple(
                    Therapist(position, record, hide_licence_numbers)
                    for position, record in enumerate(records)
                ),
                digest=hashlib.sha256(content).hexdigest(),
                compacts=dict(places.compacts),
                practising=vocabulary.practising_statuses,
                covered_by=vocabulary.payment.covered_by if vocabulary.payment else frozenset(),
            )

        # The columns first: the checks read the list fields' indexes. A roster with a problem
        # may fail to make them; the checks therapist by therapist then name the problem.
        try:
            roster: Roster | None = columns()
        except Exception:
            roster = None
        if not (
            filled and roster is not None and _plainly_valid(records, roster, vocabulary, places)
        ):
            _raise_first_problem(records, data.currency, vocabulary, places, name)
        return roster or columns()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _raise_first_problem(
    records: list[TherapistRecord],
    file_currency: str | None,
    vocabulary: Vocabulary,
    places: Places,
    name: str,
) -> None:
    """Check therapist after therapist, and raise the first problem found, naming them."""
    seen: set[str] = set()
    for record in records:
        label = f"therapist {record.id!r}"
        filled = _with_defaults(record, file_currency, vocabulary)
        if isinstance(filled, str):
            raise ConfigError(name, filled, label)
        problem = _check_therapist(record, vocabulary, places)
        if problem:
            raise ConfigError(name, problem, label)
        if record.id in seen:
            raise ConfigError(name, "duplicate therapist id", label)
        seen.add(record.id)


def _plainly_valid(
    records: list[TherapistRecord], roster: Roster, vocabulary: Vocabulary, places: Places
) -> bool:
    """True only if no therapist has a problem that _check_therapist or a duplicate id would name.

    The same checks as _check_therapist's, made field by field over every therapist at once, so
    that a roster of 100,000 loads in seconds (a therapist with compacts, a few, is checked by
    _check_therapist itself). False means only "look closer": each therapist is then checked in
    turn, which names the first problem (tests/test_roster_load.py holds the two to the same
    answers). A check added to _check_therapist needs its counterpart here, and a case in that
    test's CHANGES: a message of _check_therapist's with no case there fails it.
    """
    if not records:
        return True
    # One pass over the records (each read once, not once per field), then field by field.
    names = (
        "modalities", "difficulties", "languages", "formats", "settings", "availability",
        "measures_outcomes", "affirming", "licence_type", "city", "country", "fee",
        "sliding_scale_min", "currency", "low_fee_places", "payers", "offices", "groups",
        "licences", "accepting", "identity",
    )  # fmt: skip
    fields = dict(zip(names, zip(*map(attrgetter(*names), records), strict=True), strict=True))
    lists = id_groups(vocabulary, (*REQUIRED_ID_LISTS, "affirming"))
    for name, allowed in lists.items():
        if not (allowed.keys() >= roster.values[name].keys() and _once(roster, name, fields[name])):
            return False
    every_office = list(chain.from_iterable(office or () for office in fields["offices"]))
    if not (
        vocabulary.access.keys() >= roster.office_access_values.keys()
        and int(np.count_nonzero(roster.office_access))
        == sum(len(office.access) for office in every_office)
    ):
        return False  # an office's unknown access id, or one listed twice
    if not _once(roster, "languages", fields["languages"]) or not all(
        map(vocabulary.is_language, roster.values["languages"])
    ):
        return False
    if not vocabulary.genders.keys() >= roster.genders.keys():
        return False
    if not vocabulary.licence_types.keys() >= set(fields["licence_type"]):
        return False
    cities, offices = fields["city"], fields["offices"]
    in_person = list(map(operator.contains, fields["formats"], repeat("in_person")))
    if not all((city or "").strip() for city in compress(cities, in_person)):
        return False
    if (roster.age_min > roster.age_max).any():
        return False
    sliding = fields["sliding_scale_min"]
    if any(low is not None and low >= fee for low, fee in zip(sliding, fields["fee"], strict=True)):
        return False
    if not _payment_plainly_valid(fields, vocabulary):
        return False
    if not np.array_equal(roster.has_office, roster.column_of("formats", "in_person")):
        return False  # in person without an office, or offices but not in person
    if not _offices_plainly_placed(
        roster, cities, fields["country"], offices, vocabulary.gazetteer
    ):
        return False
    groups = fields["groups"]
    runs_groups = np.fromiter(map(bool, groups), np.bool_, len(groups))
    if not np.array_equal(roster.column_of("settings", "group"), runs_groups):
        return False  # the group setting without groups, or groups without it
    topics = vocabulary.difficulties
    for own, modalities, formats in zip(
        groups, fields["modalities"], fields["formats"], strict=True
    ):
        for group in own:
            if not (
                group.topic in topics and group.modality in modalities and group.format in formats
            ):
                return False
    held = list(chain.from_iterable(fields["licences"]))
    if not all(map(is_jurisdiction, {licence.jurisdiction for licence in held})):
        return False
    if not vocabulary.licence_statuses.keys() >= {licence.status for licence in held}:
        return False
    if any(
        a.next_available is not None and a.next_available < a.verified_at
        for a in fields["accepting"]
    ):
        return False
    shown = [identity.values for identity in fields["identity"] if identity is not None]
    if not (
        vocabulary.identities.keys() >= roster.values["identity"].keys()
        and _once(roster, "identity", shown)
    ):
        return False
    if len(roster.by_id) != len(records):
        return False  # an id is listed twice
    return not any(
        _check_therapist(record, vocabulary, places) for record in records if record.compacts
    )


def _once(roster: Roster, name: str, values_per_row: Sequence[list[str]]) -> bool:
    """No row of list field `name` lists a value twice: its index has a cell for every value."""
    return int(np.count_nonzero(roster.lists[name])) == sum(map(len, values_per_row))


def _payment_plainly_valid(fields: dict[str, tuple[Any, ...]], vocabulary: Vocabulary) -> bool:
    """_check_payment's checks, over every therapist at once."""
    if not all(map(is_currency, set(fields["currency"]))):
        return False
    pairs = zip(fields["low_fee_places"], fields["sliding_scale_min"], strict=True)
    if any(low is not None and scale is None for low, scale in pairs):
        return False
    payment = vocabulary.payment
    listed = [
        (country, entries)
        for country, entries in zip(fields["country"], fields["payers"], strict=True)
        if entries
    ]
    for country, scheme_id, payer in {
        (country, entry.scheme, entry.payer) for country, entries in listed for entry in entries
    }:
        scheme = payment.schemes.get(scheme_id) if payment else None
        if scheme is None or scheme.country != country:
            return False
        if (payer is None and scheme.payer_required) or (
            payer is not None and payer not in scheme.payers
        ):
            return False
    return all(
        len(entries) == len({(entry.scheme, entry.payer) for entry in entries})
        for _, entries in listed
    )


def _offices_plainly_placed(
    roster: Roster,
    cities: Sequence[str | None],
    countries: Sequence[str],
    offices: Sequence[list[Office]],
    gazetteer: Gazetteer | None,
) -> bool:
    """_check_offices' checks of where offices are, over every therapist at once."""
    for city, own in zip(cities, offices, strict=True):
        if own and own[0].city != city:
            wanted = normalise_city(city or "")
            if not any(normalise_city(office.city) == wanted for office in own):
                return False
    if gazetteer is None or not len(roster.office_lat):
        return True
    # Every office's city and country, in the order of the roster's office columns.
    places = list(
        zip(
            map(attrgetter("city"), chain.from_iterable(offices)),
            chain.from_iterable(map(repeat, countries, map(len, offices))),
            strict=True,
        )
    )
    centres = {place: _centre(gazetteer, *place) for place in set(places)}
    numbered = {place: number for number, place in enumerate(centres)}
    known = [centre or Place("", "city", "", None, np.nan, np.nan) for centre in centres.values()]
    at = np.fromiter(map(numbered.__getitem__, places), np.intp, len(places))
    centre_lat = np.array([centre.lat for centre in known])[at]
    centre_lon = np.array([centre.lon for centre in known])[at]
    lat, lon = roster.office_lat, roster.office_lon
    phi1, phi2 = np.radians(centre_lat), np.radians(lat)
    a = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin(np.radians(lon - centre_lon) / 2) ** 2
    )
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    # km_apart's own formula, in numpy (no centre: nan, never above the limit): an office within
    # a hair of the limit is measured again by km_apart itself, so float rounding never decides.
    for index in np.flatnonzero(km > OFFICE_CITY_KM - 0.01):
        centre = centres[places[index]]
        if centre is not None and km_apart(centre.lat, centre.lon, lat[index], lon[index]) > (
            OFFICE_CITY_KM
        ):
            return False
    return True


_SHARED_LISTS = (
    "modalities",
    "difficulties",
    "languages",
    "formats",
    "settings",
    "availability",
    "measures_outcomes",
    "affirming",
)


def _share_strings(records: list[TherapistRecord], lists: bool = True) -> None:
    """Make every repeated id one string object (the records' own lists are updated in place)."""
    # A large roster repeats the same few hundred ids millions of times: one string each
    # instead of one per mention is most of the roster's memory. Field by field, over all
    # records at once, since a loop per record and field costs seconds at 100k.
    canonical: dict[str, str] = {}
    share = canonical.setdefault
    for name in _SHARED_LISTS if lists else ():  # (ids decoded as Literals are shared already)
        for values in map(attrgetter(name), records):
            values[:] = map(share, values, values)
    if lists:
        for office in chain.from_iterable(record.offices or () for record in records):
            office.access[:] = map(share, office.access, office.access)
    force = msgspec.structs.force_setattr
    for name in ("country", "city", "currency") + (("gender", "licence_type") if lists else ()):
        for record in records:
            value = getattr(record, name)
            if value is not None:
                force(record, name, share(value, value))
    for licence in chain.from_iterable(map(attrgetter("licences"), records)):
        for name in ("jurisdiction", "register", "title", "status"):
            value = getattr(licence, name)
            force(licence, name, share(value, value))
