"""Read therapists.yaml, validate every entry against the vocabulary, and index it for matching."""

from __future__ import annotations

import hashlib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from matcher.errors import ConfigError
from matcher.rules import Vocabulary
from matcher.schemas import RosterFileSchema, TherapistSchema, flatten_errors
from matcher.yamlfile import load_yaml

# Fields whose every value gets an index: hard constraints and listing filters intersect these.
INDEXED_LIST_FIELDS = ("languages", "formats", "settings", "modalities", "difficulties")


def normalise_city(city: str) -> str:
    """Fold case and accents so that 'málaga ' and 'Malaga' compare equal."""
    decomposed = unicodedata.normalize("NFKD", city.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True)
class Therapist:
    """One validated roster entry; `profile` is the public JSON profile."""

    position: int
    profile: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.profile[key]

    @property
    def id(self) -> str:
        """The therapist's stable id."""
        return str(self.profile["id"])

    @property
    def in_person_city(self) -> str | None:
        """The normalised city where they see people in person, or None if online only."""
        if "in_person" in self.profile["formats"] and self.profile["city"]:
            return normalise_city(self.profile["city"])
        return None


@dataclass
class Roster:
    """The therapists, in file order, with an index per filterable value."""

    therapists: tuple[Therapist, ...]
    currency: str
    digest: str
    by_id: dict[str, Therapist] = field(init=False)
    index: dict[tuple[str, Any], frozenset[int]] = field(init=False)
    everyone: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {t.id: t for t in self.therapists}
        buckets: dict[tuple[str, Any], set[int]] = defaultdict(set)
        for t in self.therapists:
            for name in INDEXED_LIST_FIELDS:
                for value in t[name]:
                    buckets[(name, value)].add(t.position)
            buckets[("accepting_new_clients", t["accepting_new_clients"])].add(t.position)
            if t["city"]:
                buckets[("city", normalise_city(t["city"]))].add(t.position)
            if t.in_person_city:
                buckets[("in_person_city", t.in_person_city)].add(t.position)
        self.index = {key: frozenset(ids) for key, ids in buckets.items()}
        self.everyone = frozenset(range(len(self.therapists)))

    def with_value(self, name: str, value: Any) -> frozenset[int]:
        """Positions of the therapists whose `name` field holds (or equals) `value`."""
        return self.index.get((name, value), frozenset())

    def with_any(self, name: str, values: Iterable[Any]) -> frozenset[int]:
        """Positions of the therapists whose `name` field holds at least one of `values`."""
        result: frozenset[int] = frozenset()
        for value in values:
            result = result | self.with_value(name, value)
        return result


def _check_therapist(data: dict[str, Any], vocabulary: Vocabulary) -> str | None:
    """Return the first vocabulary problem of a schema-valid therapist, or None."""
    lists = {
        "modalities": vocabulary.modalities,
        "difficulties": vocabulary.difficulties,
        "formats": vocabulary.formats,
        "settings": vocabulary.settings,
        "availability": vocabulary.times,
        "measures_outcomes": vocabulary.instruments,
    }
    for name, allowed in lists.items():
        for value in data[name]:
            if value not in allowed:
                return f"field {name!r}: unknown {name} id {value!r}"
        if len(set(data[name])) != len(data[name]):
            return f"field {name!r}: an id is listed twice"
    for code in data["languages"]:
        if not vocabulary.is_language(code):
            return f"field 'languages': {code!r} is not an ISO 639-1 language code"
    if len(set(data["languages"])) != len(data["languages"]):
        return "field 'languages': a language is listed twice"
    if data["gender"] not in vocabulary.genders:
        return f"field 'gender': unknown gender id {data['gender']!r}"
    if data["licence_type"] not in vocabulary.licence_types:
        return f"field 'licence_type': unknown licence type {data['licence_type']!r}"
    if "in_person" in data["formats"] and not (data["city"] or "").strip():
        return "field 'city': required when formats include in_person"
    if data["sliding_scale_min"] is not None and data["sliding_scale_min"] >= data["fee"]:
        return "field 'sliding_scale_min': must be below the fee"
    has_group_setting = "group" in data["settings"]
    if has_group_setting and not data["groups"]:
        return "field 'groups': settings include group, so list at least one group"
    if data["groups"] and not has_group_setting:
        return "field 'groups': groups are listed but settings do not include group"
    for number, group in enumerate(data["groups"], start=1):
        if group["topic"] not in vocabulary.difficulties:
            return f"group #{number}: unknown topic {group['topic']!r}"
        if group["modality"] not in data["modalities"]:
            return f"group #{number}: modality {group['modality']!r} is not among their modalities"
        if group["format"] not in data["formats"]:
            return f"group #{number}: format {group['format']!r} is not among their formats"
    return None


def load_roster(path: Path, vocabulary: Vocabulary, display_name: str | None = None) -> Roster:
    """Load and validate the roster file; raise ConfigError naming file, therapist and problem."""
    name = display_name or path.name
    raw = load_yaml(path, name)
    try:
        data = RosterFileSchema().load(raw if raw is not None else {})
    except ValidationError as exc:
        problem_path, messages = next(iter(flatten_errors(exc.messages).items()))
        raise ConfigError(name, f"field {problem_path!r}: {'; '.join(messages)}") from None
    schema = TherapistSchema()
    therapists: list[Therapist] = []
    seen: set[str] = set()
    for number, entry in enumerate(data["therapists"], start=1):
        entry_id = entry.get("id") if isinstance(entry, dict) else None
        label = f"therapist {entry_id!r}" if isinstance(entry_id, str) else f"therapist #{number}"
        try:
            profile = schema.load(entry)
        except ValidationError as exc:
            flat = flatten_errors(exc.messages)
            problem_path, messages = next(iter(flat.items()))
            where = f"field {problem_path!r}: " if problem_path != "_schema" else ""
            more = f" (and {len(flat) - 1} more problem(s))" if len(flat) > 1 else ""
            raise ConfigError(name, f"{where}{'; '.join(messages)}{more}", label) from None
        problem = _check_therapist(profile, vocabulary)
        if problem:
            raise ConfigError(name, problem, label)
        if profile["id"] in seen:
            raise ConfigError(name, "duplicate therapist id", label)
        seen.add(profile["id"])
        therapists.append(Therapist(position=len(therapists), profile=schema.dump(profile)))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Roster(therapists=tuple(therapists), currency=data["currency"], digest=digest)
